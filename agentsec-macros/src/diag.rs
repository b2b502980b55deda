//! Building and collecting compile errors.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// Accumulates errors so that every problem of an item is reported at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error`.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error at `span` with a message and a `help:` line.
    pub fn at(
        &mut self,
        span: Span,
        message: impl std::fmt::Display,
        help: impl std::fmt::Display,
    ) {
        self.push(error(span, message, help));
    }

    /// Records an error spanning `tokens`.
    pub fn spanned(
        &mut self,
        tokens: impl ToTokens,
        message: impl std::fmt::Display,
        help: impl std::fmt::Display,
    ) {
        self.push(spanned_error(tokens, message, help));
    }

    /// Whether any error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The errors as `compile_error!` invocations.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.0
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }
}

/// The message format every agentsec diagnostic uses: what is wrong, then a
/// `help:` line saying what to write instead.
pub fn format_message(message: impl std::fmt::Display, help: impl std::fmt::Display) -> String {
    format!("{message}\n= help: {help}")
}

/// An error at `span`.
pub fn error(
    span: Span,
    message: impl std::fmt::Display,
    help: impl std::fmt::Display,
) -> syn::Error {
    syn::Error::new(span, format_message(message, help))
}

/// An error spanning `tokens`.
pub fn spanned_error(
    tokens: impl ToTokens,
    message: impl std::fmt::Display,
    help: impl std::fmt::Display,
) -> syn::Error {
    syn::Error::new_spanned(tokens, format_message(message, help))
}

/// The valid key closest to `key`, if close enough to be a typo.
pub fn did_you_mean<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    agentsec_core::suggest::closest(key, valid)
}

/// The help line for an unknown key.
pub fn unknown_key_help(key: &str, valid: &[&str]) -> String {
    match did_you_mean(key, valid) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None => format!("the keys are: {}", valid.join(", ")),
    }
}

/// The text of the `///` doc comments among `attrs`, lines joined by `\n`
/// and common indentation removed; `None` when there are none or all blank.
pub fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect();
    let text = text.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Parses the item an attribute is on. When it is not a `T` but is some
/// other item, the error is `message` with `help`, and the item is kept;
/// when it is not valid Rust at all, the error is `syn`'s own, on the tokens
/// it could not parse (a replacement message would hide where the mistake
/// is), and the item is dropped so rustc does not report it a second time.
pub fn parse_item<T: syn::parse::Parse>(
    item: TokenStream,
    message: &str,
    help: &str,
) -> Result<T, TokenStream> {
    match syn::parse2::<T>(item.clone()) {
        Ok(parsed) => Ok(parsed),
        Err(syntax) => match syn::parse2::<syn::Item>(item.clone()) {
            Ok(_) => {
                let error = error(Span::call_site(), message, help).to_compile_error();
                Err(quote::quote!(#error #item))
            }
            Err(_) => Err(syntax.to_compile_error()),
        },
    }
}

/// The name after the first `fn` in `item`, for placeholders of an item
/// that did not parse.
pub fn fn_name(item: &TokenStream) -> Option<syn::Ident> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        if let proc_macro2::TokenTree::Ident(ident) = &token
            && ident == "fn"
        {
            return match tokens.next() {
                Some(proc_macro2::TokenTree::Ident(name)) => Some(name),
                _ => None,
            };
        }
    }
    None
}

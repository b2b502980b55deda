//! Refusing credentials written into code.

use proc_macro2::{TokenStream, TokenTree};

use crate::diag::Errors;

pub use agentsec_core::credentials::find_credentials;

/// Reports every string literal in `tokens` (including inside macro calls
/// such as `format!`) that contains something shaped like a credential.
pub fn check_tokens(tokens: TokenStream, errors: &mut Errors) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => check_tokens(group.stream(), errors),
            TokenTree::Literal(literal) => {
                let Some(text) = literal_text(&literal) else {
                    continue;
                };
                if let Some(found) = find_credentials(&text).first() {
                    errors.at(
                        literal.span(),
                        format!(
                            "this string literal contains {}; credentials must not be written into code",
                            found.kind.describe()
                        ),
                        "put the value in the secret store and take it as a parameter \
                         `#[secret(\"name\")] key: SecretString`",
                    );
                }
            }
            _ => {}
        }
    }
}

fn literal_text(literal: &proc_macro2::Literal) -> Option<String> {
    let lit = syn::Lit::new(literal.clone());
    match lit {
        syn::Lit::Str(s) => Some(s.value()),
        syn::Lit::ByteStr(b) => Some(String::from_utf8_lossy(&b.value()).into_owned()),
        syn::Lit::CStr(c) => Some(c.value().to_string_lossy().into_owned()),
        _ => None,
    }
}

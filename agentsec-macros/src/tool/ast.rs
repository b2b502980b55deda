//! The model of a `#[tool]` function: its attributes, parameters and result.

use proc_macro2::{Span, TokenStream};
use syn::{
    Attribute, FnArg, GenericArgument, ItemFn, LitStr, Pat, PathArguments, ReturnType, Type,
};

use super::attr::{self, IrreversibleAttr, ToolAttr};
use crate::diag::{Errors, doc_text};

/// What a parameter is for.
pub enum ParamKind {
    /// `ctx: &ToolCtx`.
    Ctx,
    /// `#[state] shop: &Shop`; holds `Shop`.
    State(Type),
    /// `#[secret("name")] key: SecretString`.
    Secret(LitStr),
    /// A model-visible argument, with its doc comments.
    Model { docs: Vec<Attribute> },
    /// `#[args] query: SearchQuery`: the argument struct, taken whole (its
    /// fields are the arguments). Without `#[args]`, a parameter is one
    /// argument named after it, whatever its type.
    ArgsStruct,
}

pub struct Param {
    pub ident: syn::Ident,
    pub ty: Type,
    pub kind: ParamKind,
    /// `#[sink]`: the argument's value must not come from untrusted
    /// content alone.
    pub sink: Option<Attribute>,
}

/// The whole tool: attribute, function and parameters.
pub struct ToolDef {
    pub attr: ToolAttr,
    /// The `#[tool]` attribute (for errors about the attribute as a whole).
    pub attr_span: Span,
    pub irreversible: Option<IrreversibleAttr>,
    /// The function with agentsec's attributes removed: what is emitted.
    pub func: ItemFn,
    pub description: Option<String>,
    pub params: Vec<Param>,
    /// `T` of `Result<T, E>`.
    pub output: Option<Type>,
}

impl ToolDef {
    pub fn name(&self) -> String {
        self.attr
            .name
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_else(|| unraw(&self.func.sig.ident))
    }

    pub fn has_ctx(&self) -> bool {
        self.params.iter().any(|p| matches!(p.kind, ParamKind::Ctx))
    }

    pub fn model_params(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Model { .. }))
    }

    pub fn args_struct(&self) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| matches!(p.kind, ParamKind::ArgsStruct))
    }
}

pub fn unraw(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

/// Whether an attribute's path ends in `name` (`irreversible`,
/// `agentsec::irreversible`).
pub fn is_attr(attribute: &Attribute, name: &str) -> bool {
    attribute
        .path()
        .segments
        .last()
        .is_some_and(|s| s.ident == name)
}

/// Builds the model, reporting what cannot be understood. Rules are checked
/// afterwards, in `valid.rs`.
pub fn parse(args: TokenStream, mut func: ItemFn, errors: &mut Errors) -> ToolDef {
    let attr = attr::parse_tool_attr(args, errors);

    let mut irreversible = None;
    func.attrs.retain(|a| {
        if is_attr(a, "irreversible") {
            if irreversible.is_some() {
                errors.spanned(a, "`#[irreversible]` is given twice", "keep one");
            } else {
                irreversible = Some(attr::parse_irreversible_attr(a, errors));
            }
            false
        } else {
            true
        }
    });
    let description = doc_text(&func.attrs);

    let mut params = Vec::new();
    for input in func.sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(
                &*receiver,
                "a tool cannot take `self`",
                "tools are free functions; take application state with `#[state] name: &Type`",
            ),
            FnArg::Typed(typed) => {
                if let Some(param) = parse_param(typed, errors) {
                    params.push(param);
                }
            }
        }
    }

    let output = match &func.sig.output {
        ReturnType::Type(_, ty) => result_ok_type(ty),
        ReturnType::Default => None,
    };
    if output.is_none() {
        let help = "return `Result<T, ToolError>`, where `T: Serialize` is what the model receives";
        match &func.sig.output {
            ReturnType::Default => {
                errors.spanned(&func.sig.ident, "a tool must return a `Result`", help)
            }
            ReturnType::Type(_, ty) => errors.spanned(ty, "a tool must return a `Result`", help),
        }
    }

    ToolDef {
        attr,
        attr_span: Span::call_site(),
        irreversible,
        func,
        description,
        params,
        output,
    }
}

fn parse_param(typed: &mut syn::PatType, errors: &mut Errors) -> Option<Param> {
    let mut state = None;
    let mut secret = None;
    let mut args = None;
    let mut sink = None;
    let mut docs = Vec::new();
    let mut keep = Vec::new();
    for a in typed.attrs.drain(..) {
        if a.path().is_ident("state") {
            state = Some(a);
        } else if a.path().is_ident("secret") {
            secret = Some(a);
        } else if a.path().is_ident("args") {
            args = Some(a);
        } else if a.path().is_ident("sink") {
            sink = Some(a);
        } else if a.path().is_ident("doc") {
            docs.push(a);
        } else {
            keep.push(a);
        }
    }
    typed.attrs = keep;

    let ident = match &*typed.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
        other => {
            errors.spanned(
                other,
                "tool parameters must be plain names",
                "write `name: Type`; destructure inside the function body",
            );
            return None;
        }
    };
    let ty = (*typed.ty).clone();

    if let Some(sink_attr) = &sink
        && !matches!(sink_attr.meta, syn::Meta::Path(_))
    {
        errors.spanned(
            sink_attr,
            "`#[sink]` takes no arguments",
            "write `#[sink] recipient: String`",
        );
    }
    if let Some(sink_attr) = &sink
        && (state.is_some() || secret.is_some() || args.is_some() || is_tool_ctx(&ty))
    {
        errors.spanned(
            sink_attr,
            "only a model-visible argument can be a `#[sink]`",
            "put `#[sink]` on an argument the model writes, e.g. `#[sink] recipient: String`",
        );
    }

    let kind = if let Some(state_attr) = state {
        if !matches!(state_attr.meta, syn::Meta::Path(_)) {
            errors.spanned(
                &state_attr,
                "`#[state]` takes no arguments",
                "write `#[state] name: &Type`",
            );
        }
        match &ty {
            Type::Reference(r) if r.mutability.is_none() => ParamKind::State((*r.elem).clone()),
            other => {
                errors.spanned(
                    other,
                    "a `#[state]` parameter must be a shared reference",
                    format!(
                        "write `#[state] {ident}: &{}`; state is shared by every call, so it is never owned or `&mut`",
                        type_display(other)
                    ),
                );
                return None;
            }
        }
    } else if let Some(secret_attr) = secret {
        let name = match secret_attr.parse_args::<LitStr>() {
            Ok(name) if !name.value().trim().is_empty() => name,
            _ => {
                errors.spanned(
                    &secret_attr,
                    "`#[secret]` needs the secret's name",
                    "write `#[secret(\"stripe_api_key\")] key: SecretString`",
                );
                return None;
            }
        };
        ParamKind::Secret(name)
    } else if is_tool_ctx(&ty) {
        match &ty {
            Type::Reference(r) if r.mutability.is_none() => ParamKind::Ctx,
            other => {
                errors.spanned(
                    other,
                    "the tool context is taken by shared reference",
                    format!("write `{ident}: &ToolCtx`"),
                );
                return None;
            }
        }
    } else if args.is_some() {
        ParamKind::ArgsStruct
    } else {
        ParamKind::Model { docs }
    };
    Some(Param {
        ident,
        ty,
        kind,
        sink,
    })
}

/// The last path segment's name of `ty`, looking through references.
pub fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_segment(&r.elem),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn is_tool_ctx(ty: &Type) -> bool {
    last_segment(ty).as_deref() == Some("ToolCtx")
}

const SECRET_TYPES: &[&str] = &[
    "SecretString",
    "SecretBox",
    "SecretSlice",
    "SecretVec",
    "Secret",
    "SecretBytes",
    "SecretBytesMut",
];

/// The secret type inside `ty` (itself or a generic argument), if any.
pub fn find_secret_type(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Path(p) => {
            let last = p.path.segments.last()?;
            if SECRET_TYPES.contains(&last.ident.to_string().as_str()) {
                return Some(ty);
            }
            if let PathArguments::AngleBracketed(args) = &last.arguments {
                for arg in &args.args {
                    if let GenericArgument::Type(inner) = arg
                        && let Some(found) = find_secret_type(inner)
                    {
                        return Some(found);
                    }
                }
            }
            None
        }
        Type::Reference(r) => find_secret_type(&r.elem),
        Type::Array(a) => find_secret_type(&a.elem),
        Type::Slice(s) => find_secret_type(&s.elem),
        Type::Tuple(t) => t.elems.iter().find_map(find_secret_type),
        Type::Paren(p) => find_secret_type(&p.elem),
        Type::Group(g) => find_secret_type(&g.elem),
        _ => None,
    }
}

/// `T` of a `Result<T, E>` (or `Result<T>` alias) return type.
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

pub fn type_display(ty: &Type) -> String {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    quote::quote!(#ty).to_string().replace(' ', "")
}

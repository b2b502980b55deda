//! The grammar of `#[tool(...)]` and `#[irreversible(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::diag::{Errors, unknown_key_help};

/// The keys `#[tool]` accepts.
pub const TOOL_KEYS: &[&str] = &[
    "read",
    "write",
    "delete",
    "egress",
    "pure",
    "scope",
    "untrusted",
    "idempotent",
    "name",
    "untrusted_sink",
];

pub use agentsec_core::{EffectKind, Scope as ScopeKind};

/// One `kind = "resource"` (or one element of `kind = [..]`).
#[derive(Clone)]
pub struct EffectDecl {
    pub kind: EffectKind,
    /// The key (`read`, `delete`, ...) as written: errors about the effect point here.
    pub key: syn::Ident,
    pub resource: LitStr,
}

#[derive(Clone)]
pub struct ScopeDecl {
    pub kind: ScopeKind,
    pub value: LitStr,
}

/// The parsed `#[tool(...)]`.
#[derive(Default, Clone)]
pub struct ToolAttr {
    pub effects: Vec<EffectDecl>,
    /// An effect key was written, even if its value was rejected: then "no
    /// effect declared" would only repeat that error.
    pub effect_key_written: bool,
    /// `scope` was written, even if its value was rejected.
    pub scope_key_written: bool,
    pub pure: Option<Span>,
    pub scope: Option<ScopeDecl>,
    pub untrusted: Option<Span>,
    pub idempotent: Option<Span>,
    pub name: Option<LitStr>,
    /// `untrusted_sink = "ask"`: ask a person instead of denying a call
    /// whose sink carries a value only untrusted content supplied.
    pub untrusted_sink: Option<agentsec_core::SinkPolicy>,
}

/// Parses the arguments of `#[tool(...)]`, reporting every problem.
pub fn parse_tool_attr(args: TokenStream, errors: &mut Errors) -> ToolAttr {
    let mut attr = ToolAttr::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(e) => {
            errors.push(e);
            return attr;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let Some(key) = meta.path().get_ident().cloned() else {
            errors.spanned(
                meta.path(),
                "expected a key of `#[tool]`",
                unknown_key_help("", TOOL_KEYS),
            );
            continue;
        };
        let key_name = key.to_string();
        if seen.contains(&key_name) && !is_effect_key(&key_name) {
            errors.at(
                key.span(),
                format!("`{key_name}` is given twice"),
                "give each key once",
            );
            continue;
        }
        seen.push(key_name.clone());
        match key_name.as_str() {
            "read" | "write" | "delete" | "egress" => {
                attr.effect_key_written = true;
                let kind = match key_name.as_str() {
                    "read" => EffectKind::Read,
                    "write" => EffectKind::Write,
                    "delete" => EffectKind::Delete,
                    _ => EffectKind::Egress,
                };
                let what = if kind == EffectKind::Egress {
                    "a channel"
                } else {
                    "a resource"
                };
                let example = if kind == EffectKind::Egress {
                    "\"email\""
                } else {
                    "\"orders\""
                };
                match &meta {
                    Meta::NameValue(nv) => {
                        for resource in string_or_list(&nv.value, &key_name, what, example, errors)
                        {
                            attr.effects.push(EffectDecl {
                                kind,
                                key: key.clone(),
                                resource,
                            });
                        }
                    }
                    _ => errors.spanned(
                        &meta,
                        format!("`{key_name}` needs {what}"),
                        format!(
                            "write `{key_name} = {example}` or `{key_name} = [{example}, ...]`"
                        ),
                    ),
                }
            }
            "pure" | "untrusted" | "idempotent" => {
                if key_name == "pure" {
                    attr.effect_key_written = true;
                }
                if !matches!(meta, Meta::Path(_)) {
                    errors.spanned(
                        &meta,
                        format!("`{key_name}` is a flag and takes no value"),
                        format!("write just `{key_name}`"),
                    );
                    continue;
                }
                let slot = match key_name.as_str() {
                    "pure" => &mut attr.pure,
                    "untrusted" => &mut attr.untrusted,
                    _ => &mut attr.idempotent,
                };
                *slot = Some(key.span());
            }
            "scope" => {
                attr.scope_key_written = true;
                let Some(value) = name_value_str(&meta, errors, "scope = \"user\"") else {
                    continue;
                };
                let kind = match value.value().as_str() {
                    "user" => ScopeKind::User,
                    "tenant" => ScopeKind::Tenant,
                    "global" => ScopeKind::Global,
                    other => {
                        errors.at(
                            value.span(),
                            format!("unknown scope `{other}`"),
                            "the scopes are \"user\" (the calling user's rows), \"tenant\" (the user's tenant) and \"global\"",
                        );
                        continue;
                    }
                };
                attr.scope = Some(ScopeDecl { kind, value });
            }
            "untrusted_sink" => {
                let Some(value) = name_value_str(&meta, errors, "untrusted_sink = \"ask\"") else {
                    continue;
                };
                attr.untrusted_sink = match value.value().as_str() {
                    "deny" => Some(agentsec_core::SinkPolicy::Deny),
                    "ask" => Some(agentsec_core::SinkPolicy::Ask),
                    other => {
                        errors.at(
                            value.span(),
                            format!("unknown `untrusted_sink` value `{other}`"),
                            "write `untrusted_sink = \"deny\"` (the default: the call is refused) or `untrusted_sink = \"ask\"` (a person decides, warned)",
                        );
                        continue;
                    }
                };
            }
            "name" => {
                let Some(value) = name_value_str(&meta, errors, "name = \"lookup_order\"") else {
                    continue;
                };
                if !is_valid_tool_name(&value.value()) {
                    let rule = agentsec_core::ToolRule::InvalidName;
                    errors.at(
                        value.span(),
                        format!("tool `{}` {}", value.value(), rule.message()),
                        rule.help(),
                    );
                    continue;
                }
                attr.name = Some(value);
            }
            other => {
                // The unknown key may be a misspelt effect or scope: do not
                // also report those as missing.
                attr.effect_key_written = true;
                attr.scope_key_written = true;
                errors.at(
                    key.span(),
                    format!("unknown key `{other}` in `#[tool]`"),
                    unknown_key_help(other, TOOL_KEYS),
                );
            }
        }
    }
    attr
}

fn is_effect_key(key: &str) -> bool {
    matches!(key, "read" | "write" | "delete" | "egress")
}

pub use agentsec_core::is_valid_tool_name;

fn string_or_list(
    value: &Expr,
    key: &str,
    what: &str,
    example: &str,
    errors: &mut Errors,
) -> Vec<LitStr> {
    let items: Vec<&Expr> = match value {
        Expr::Array(array) => array.elems.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        errors.spanned(
            value,
            format!(
                "`{key}` needs at least one {}",
                what.trim_start_matches("a ")
            ),
            format!("write `{key} = {example}`"),
        );
    }
    let mut out = Vec::new();
    for item in items {
        match item {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if !s.value().trim().is_empty() => out.push(s.clone()),
            other => errors.spanned(
                other,
                format!("`{key}` takes {what} as a non-empty string"),
                format!("write `{key} = {example}`"),
            ),
        }
    }
    out
}

fn name_value_str(meta: &Meta, errors: &mut Errors, example: &str) -> Option<LitStr> {
    let key = meta
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.clone()),
            other => {
                errors.spanned(
                    other,
                    format!("`{key}` takes a string"),
                    format!("write `{example}`"),
                );
                None
            }
        },
        _ => {
            errors.spanned(
                meta,
                format!("`{key}` needs a value"),
                format!("write `{example}`"),
            );
            None
        }
    }
}

/// The parsed `#[irreversible]` / `#[irreversible(reason = "...")]`.
#[derive(Clone)]
pub struct IrreversibleAttr {
    /// The attribute as written: errors about it point here.
    pub span: Span,
    /// The whole attribute's tokens, when written below `#[tool]`, so errors
    /// underline all of it.
    pub tokens: Option<TokenStream>,
    pub reason: Option<LitStr>,
}

/// Parses the arguments of `#[irreversible(...)]`.
pub fn parse_irreversible_args(
    args: TokenStream,
    span: Span,
    errors: &mut Errors,
) -> IrreversibleAttr {
    let mut attr = IrreversibleAttr {
        span,
        tokens: None,
        reason: None,
    };
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(e) => {
            errors.push(e);
            return attr;
        }
    };
    for meta in metas {
        if meta.path().is_ident("reason") {
            if let Some(reason) = name_value_str(&meta, errors, "reason = \"moves money\"") {
                if reason.value().trim().is_empty() {
                    errors.at(
                        reason.span(),
                        "the reason is empty",
                        "say why the action cannot be undone, e.g. `reason = \"moves money\"`; the approver sees it",
                    );
                } else {
                    attr.reason = Some(reason);
                }
            }
        } else {
            let key = meta
                .path()
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            errors.at(
                meta.path().span(),
                format!("unknown key `{key}` in `#[irreversible]`"),
                unknown_key_help(&key, &["reason"]),
            );
        }
    }
    attr
}

/// Parses an `#[irreversible]` attribute found on the function.
pub fn parse_irreversible_attr(
    attribute: &syn::Attribute,
    errors: &mut Errors,
) -> IrreversibleAttr {
    let span = attribute.span();
    let mut parsed = match &attribute.meta {
        Meta::Path(_) => parse_irreversible_args(TokenStream::new(), span, errors),
        Meta::List(list) => parse_irreversible_args(list.tokens.clone(), span, errors),
        Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                "`#[irreversible]` takes no `=` value",
                "write `#[irreversible]` or `#[irreversible(reason = \"...\")]`",
            );
            parse_irreversible_args(TokenStream::new(), span, errors)
        }
    };
    parsed.tokens = Some(quote::ToTokens::to_token_stream(attribute));
    parsed
}

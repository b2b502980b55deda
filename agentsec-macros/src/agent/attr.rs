//! The grammar of `#[agent(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::diag::{Errors, unknown_key_help};

pub const AGENT_KEYS: &[&str] = &[
    "name",
    "prompt",
    "prompt_file",
    "tools",
    "max_iterations",
    "budget",
    "model",
    "untrusted_input",
];
pub const BUDGET_KEYS: &[&str] = &["tokens", "tool_calls", "usd"];

pub struct Budget {
    pub span: Span,
    pub tokens: Option<u64>,
    pub tool_calls: Option<u32>,
    pub usd: Option<f64>,
}

#[derive(Default)]
pub struct AgentAttr {
    pub name: Option<LitStr>,
    pub prompt: Option<LitStr>,
    pub prompt_file: Option<LitStr>,
    pub tools: Vec<Path>,
    pub tools_span: Option<Span>,
    pub max_iterations: Option<(u32, Span)>,
    pub max_iterations_written: bool,
    pub budget: Option<Budget>,
    pub budget_written: bool,
    pub model: Option<LitStr>,
    pub untrusted_input: bool,
    /// An unknown key was reported: it may be a misspelt required key, so
    /// "missing key" errors would only repeat it.
    pub had_unknown_key: bool,
}

pub fn parse(args: TokenStream, errors: &mut Errors) -> AgentAttr {
    let mut attr = AgentAttr::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(e) => {
            errors.push(e);
            return attr;
        }
    };
    let mut seen = Vec::new();
    for meta in metas {
        let Some(key) = meta.path().get_ident().cloned() else {
            errors.spanned(
                meta.path(),
                "expected a key of `#[agent]`",
                unknown_key_help("", AGENT_KEYS),
            );
            continue;
        };
        let name = key.to_string();
        if seen.contains(&name) {
            errors.at(
                key.span(),
                format!("`{name}` is given twice"),
                "give each key once",
            );
            continue;
        }
        seen.push(name.clone());
        match name.as_str() {
            "name" => attr.name = string_value(&meta, errors, "name = \"support\""),
            "prompt" => attr.prompt = string_value(&meta, errors, "prompt = \"You are ...\""),
            "prompt_file" => {
                attr.prompt_file =
                    string_value(&meta, errors, "prompt_file = \"prompts/support.md\"")
            }
            "model" => attr.model = string_value(&meta, errors, "model = \"gpt-4o-mini\""),
            "untrusted_input" => {
                if matches!(meta, Meta::Path(_)) {
                    attr.untrusted_input = true;
                } else {
                    errors.spanned(
                        &meta,
                        "`untrusted_input` is a flag and takes no value",
                        "write just `untrusted_input`",
                    );
                }
            }
            "tools" => {
                let Meta::List(list) = &meta else {
                    errors.spanned(
                        &meta,
                        "`tools` lists the agent's tools",
                        "write `tools(list_orders, refund_order)`",
                    );
                    continue;
                };
                attr.tools_span = Some(list.span());
                match Punctuated::<Path, Token![,]>::parse_terminated.parse2(list.tokens.clone()) {
                    Ok(paths) => attr.tools = paths.into_iter().collect(),
                    Err(e) => errors.push(e),
                }
            }
            "max_iterations" => {
                attr.max_iterations_written = true;
                attr.max_iterations =
                    int_value(&meta, errors, "max_iterations = 5").and_then(|(v, span)| {
                        match u32::try_from(v) {
                            Ok(v) => Some((v, span)),
                            Err(_) => {
                                errors.at(
                                    span,
                                    "`max_iterations` is too large",
                                    "use a value from 1 to 25",
                                );
                                None
                            }
                        }
                    });
            }
            "budget" => {
                attr.budget_written = true;
                attr.budget = parse_budget(&meta, errors);
            }
            other => {
                attr.had_unknown_key = true;
                errors.at(
                    key.span(),
                    format!("unknown key `{other}` in `#[agent]`"),
                    unknown_key_help(other, AGENT_KEYS),
                );
            }
        }
    }
    attr
}

fn parse_budget(meta: &Meta, errors: &mut Errors) -> Option<Budget> {
    let example = "budget(tokens = 20_000, tool_calls = 10, usd = 0.50)";
    let Meta::List(list) = meta else {
        errors.spanned(
            meta,
            "`budget` sets the run's caps",
            format!("write `{example}`"),
        );
        return None;
    };
    let items = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(list.tokens.clone()) {
        Ok(items) => items,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let mut budget = Budget {
        span: list.span(),
        tokens: None,
        tool_calls: None,
        usd: None,
    };
    let mut item_errors = false;
    for item in items {
        let before = errors.is_empty();
        let key = item
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        match key.as_str() {
            "tokens" => budget.tokens = positive_int(&item, errors, "tokens = 20_000"),
            "tool_calls" => {
                budget.tool_calls = positive_int(&item, errors, "tool_calls = 10").and_then(|v| {
                    u32::try_from(v).ok().or_else(|| {
                        errors.spanned(
                            &item,
                            "`tool_calls` is too large",
                            "use a value that fits in a u32",
                        );
                        None
                    })
                })
            }
            "usd" => budget.usd = usd_value(&item, errors),
            other => errors.spanned(
                item.path(),
                format!("unknown key `{other}` in `budget(...)`"),
                unknown_key_help(other, BUDGET_KEYS),
            ),
        }
        item_errors |= before && !errors.is_empty();
    }
    if item_errors {
        return None;
    }
    if budget.tokens.is_none() && budget.tool_calls.is_none() && budget.usd.is_none() {
        errors.at(
            budget.span,
            "the budget sets no cap",
            format!("set at least one cap: `{example}`"),
        );
        return None;
    }
    Some(budget)
}

fn positive_int(meta: &Meta, errors: &mut Errors, example: &str) -> Option<u64> {
    let (value, span) = int_value(meta, errors, example)?;
    if value == 0 {
        errors.at(
            span,
            "a cap of 0 would stop every run",
            format!("write a positive cap, e.g. `{example}`"),
        );
        return None;
    }
    Some(value)
}

fn int_value(meta: &Meta, errors: &mut Errors, example: &str) -> Option<(u64, Span)> {
    let key = meta
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    if let Meta::NameValue(nv) = meta
        && let Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) = &nv.value
    {
        return match int.base10_parse::<u64>() {
            Ok(v) => Some((v, int.span())),
            Err(_) => {
                errors.at(
                    int.span(),
                    format!("`{key}` takes a whole number"),
                    format!("write `{example}`"),
                );
                None
            }
        };
    }
    errors.spanned(
        meta,
        format!("`{key}` takes a whole number"),
        format!("write `{example}`"),
    );
    None
}

fn usd_value(meta: &Meta, errors: &mut Errors) -> Option<f64> {
    let value = match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse::<f64>().ok(),
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<f64>().ok(),
            _ => None,
        },
        _ => None,
    };
    match value {
        Some(v) if v > 0.0 && v.is_finite() => Some(v),
        _ => {
            errors.spanned(
                meta,
                "`usd` takes a positive amount of dollars",
                "write `usd = 0.50`",
            );
            None
        }
    }
}

fn string_value(meta: &Meta, errors: &mut Errors, example: &str) -> Option<LitStr> {
    let key = meta
        .path()
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_default();
    if let Meta::NameValue(nv) = meta
        && let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = &nv.value
    {
        if s.value().trim().is_empty() {
            errors.at(
                s.span(),
                format!("`{key}` is empty"),
                format!("write `{example}`"),
            );
            return None;
        }
        return Some(s.clone());
    }
    errors.spanned(
        meta,
        format!("`{key}` takes a string"),
        format!("write `{example}`"),
    );
    None
}

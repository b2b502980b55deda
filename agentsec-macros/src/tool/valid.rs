//! The compile-time rules of a tool. Each error points at the tokens at
//! fault and says what to write instead.

use syn::Type;

use super::ast::{ParamKind, ToolDef, find_secret_type, type_display};
use super::attr::{EffectKind, ScopeKind};
use crate::credentials;
use crate::diag::Errors;

use agentsec_core::identity_args;

pub fn check(def: &ToolDef, errors: &mut Errors) {
    check_signature(def, errors);
    check_effects(def, errors);
    check_irreversible(def, errors);
    check_scope_and_identity(def, errors);
    check_params(def, errors);
    check_doc(def, errors);
    let body = &def.func.block;
    credentials::check_tokens(quote::quote!(#body), errors);
}

fn check_signature(def: &ToolDef, errors: &mut Errors) {
    let sig = &def.func.sig;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "a tool must be an `async fn`",
            format!("write `async fn {}(...)`", sig.ident),
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a tool cannot be generic",
            "the model calls a tool by a fixed schema; use concrete types",
        );
    }
}

fn check_effects(def: &ToolDef, errors: &mut Errors) {
    let attr = &def.attr;
    if attr.effects.is_empty() && attr.pure.is_none() && !attr.effect_key_written {
        errors.at(
            def.attr_span,
            "this tool declares no effect",
            "declare what it touches, e.g. `#[tool(read = \"orders\", scope = \"user\")]`, \
             or `#[tool(pure)]` if it touches nothing outside itself",
        );
    }
    if let Some(pure) = attr.pure {
        if let Some(effect) = attr.effects.first() {
            errors.at(
                pure,
                format!(
                    "a `pure` tool cannot also declare `{} = ...`",
                    effect.kind.keyword()
                ),
                "remove `pure`, or remove the effects if the tool really touches nothing",
            );
        }
        if let Some(scope) = &attr.scope {
            errors.at(
                scope.value.span(),
                "a `pure` tool touches no data, so it has no scope",
                "remove `scope = ...`",
            );
        }
    }
    if attr.scope.is_none()
        && !attr.scope_key_written
        && let Some(effect) = attr.effects.iter().find(|e| e.kind.is_data())
    {
        errors.at(
            effect.key.span(),
            format!(
                "`{}` touches data but the tool declares no scope",
                effect.kind.keyword()
            ),
            "add `scope = \"user\"` (the calling user's rows), `scope = \"tenant\"` or `scope = \"global\"`",
        );
    }
}

fn check_irreversible(def: &ToolDef, errors: &mut Errors) {
    let attr = &def.attr;
    match &def.irreversible {
        None => {
            for effect in &attr.effects {
                let why = match effect.kind {
                    EffectKind::Delete => "deleting cannot be undone",
                    EffectKind::Egress => "data sent outside cannot be recalled",
                    _ => continue,
                };
                let article = if effect.kind == EffectKind::Egress {
                    "an"
                } else {
                    "a"
                };
                errors.at(
                    effect.key.span(),
                    format!(
                        "{article} `{}` tool must be `#[irreversible]`: {why}, so a person approves each call",
                        effect.kind.keyword()
                    ),
                    "add `#[irreversible(reason = \"...\")]` above or below `#[tool]`",
                );
                // One error per tool is enough to say what to add.
                break;
            }
        }
        Some(irreversible) => {
            if !attr.has_effect(EffectKind::changes_state) {
                let message =
                    "`#[irreversible]` on a tool that declares no `write`, `delete` or `egress`";
                let help = "remove `#[irreversible]`, or declare the effect that cannot be undone, \
                            e.g. `write = \"payments\"`";
                match &irreversible.tokens {
                    Some(tokens) => errors.spanned(tokens, message, help),
                    None => errors.at(irreversible.span, message, help),
                }
            }
        }
    }
}

fn check_scope_and_identity(def: &ToolDef, errors: &mut Errors) {
    let Some(scope) = &def.attr.scope else { return };
    if scope.kind == ScopeKind::Global {
        return;
    }
    let who = if scope.kind == ScopeKind::User {
        "user"
    } else {
        "tenant"
    };
    if !def.has_ctx() {
        errors.at(
            scope.value.span(),
            format!("a {who}-scoped tool must take the tool context to know whose data it touches"),
            format!("add `ctx: &ToolCtx` as a parameter and read the {who} from `ctx.user()`"),
        );
    }
    for param in def.model_params() {
        let name = super::ast::unraw(&param.ident);
        if identity_args::is_identity_argument(&name) {
            errors.spanned(
                &param.ident,
                format!(
                    "`{name}` would let the model choose whose data a {who}-scoped tool touches"
                ),
                format!(
                    "remove `{name}` and use `ctx.user()`: identity comes from the context, never from the model"
                ),
            );
        }
    }
}

fn check_params(def: &ToolDef, errors: &mut Errors) {
    let mut ctx_seen = false;
    let mut model_count = 0;
    for param in &def.params {
        match &param.kind {
            ParamKind::Ctx => {
                if ctx_seen {
                    errors.spanned(
                        &param.ident,
                        "the tool context is taken twice",
                        "take `&ToolCtx` once",
                    );
                }
                ctx_seen = true;
            }
            ParamKind::Secret(_) => {
                if super::ast::last_segment(&param.ty).as_deref() != Some("SecretString")
                    || matches!(param.ty, Type::Reference(_))
                {
                    errors.spanned(
                        &param.ty,
                        format!("a `#[secret]` parameter must be a `SecretString`, not `{}`", quote_ty(&param.ty)),
                        format!(
                            "write `{}: SecretString`; it is filled from the secret store and its value never reaches logs",
                            param.ident
                        ),
                    );
                }
            }
            ParamKind::Model { .. } | ParamKind::ArgsStruct => {
                model_count += 1;
                if let Some(secret) = find_secret_type(&param.ty) {
                    errors.spanned(
                        secret,
                        format!(
                            "`{}` is a secret type and cannot be a model-visible argument",
                            type_display(secret)
                        ),
                        format!(
                            "take it from the secret store with `#[secret(\"name\")] {}: SecretString`; \
                             secrets never pass through the model",
                            param.ident
                        ),
                    );
                } else if let Type::Reference(r) = &param.ty {
                    errors.spanned(
                        r,
                        "model-visible arguments must be owned values",
                        format!(
                            "write `{}: {}` (e.g. `String` instead of `&str`): arguments are decoded from the model's JSON",
                            param.ident,
                            owned_suggestion(&r.elem)
                        ),
                    );
                }
            }
            ParamKind::State(_) => {}
        }
    }
    if let Some(args) = def.args_struct()
        && model_count > 1
    {
        errors.spanned(
            &args.ident,
            "an argument struct must be the tool's only model-visible parameter",
            "move the other model-visible parameters into the struct as fields",
        );
    }
}

fn check_doc(def: &ToolDef, errors: &mut Errors) {
    if def.description.is_none() {
        let ident = &def.func.sig.ident;
        errors.spanned(
            ident,
            format!("tool `{ident}` has no doc comment; the model reads it as the tool's description"),
            format!("add a `///` comment above `fn {ident}` saying what the tool does and when to use it"),
        );
    }
}

fn quote_ty(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

fn owned_suggestion(elem: &Type) -> String {
    match super::ast::last_segment(elem).as_deref() {
        Some("str") => "String".into(),
        _ => match elem {
            Type::Slice(s) => format!("Vec<{}>", quote_ty(&s.elem)),
            other => quote_ty(other),
        },
    }
}

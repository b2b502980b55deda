//! The compile-time rules of a tool. Each error points at the tokens at
//! fault and says what to write instead.

use syn::Type;

use agentsec_core::identity_args;
use agentsec_core::{Effect, Irreversibility, ToolRule, ToolSpec};

use super::ast::{ParamKind, ToolDef, find_secret_type, type_display};
use super::attr::{EffectKind, ScopeKind};
use crate::credentials;
use crate::diag::Errors;

pub fn check(def: &ToolDef, errors: &mut Errors) {
    check_signature(def, errors);
    check_spec_rules(def, errors);
    check_scope_and_identity(def, errors);
    check_params(def, errors);
    check_credential_names(def, errors);
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

/// For each set of effect kinds (a bit per `EffectKind`), a `'static` list
/// holding exactly those kinds (some repeated: the rules only ask which
/// kinds are present).
static EFFECT_SETS: [[Effect; 4]; 16] = {
    const KINDS: [EffectKind; 4] = [
        EffectKind::Read,
        EffectKind::Write,
        EffectKind::Delete,
        EffectKind::Egress,
    ];
    let mut sets = [[Effect::new(EffectKind::Read, "resource"); 4]; 16];
    let mut mask = 1;
    while mask < 16 {
        let mut first = 0;
        while mask & (1 << first) == 0 {
            first += 1;
        }
        let mut k = 0;
        while k < 4 {
            let kind = if mask & (1 << k) != 0 { k } else { first };
            sets[mask][k] = Effect::new(KINDS[kind], "resource");
            k += 1;
        }
        mask += 1;
    }
    sets
};

fn effect_set(mask: usize) -> &'static [Effect] {
    if mask == 0 { &[] } else { &EFFECT_SETS[mask] }
}

/// The rules over the spec, from `agentsec-core` (the same functions the
/// `#[agent]` assertions and the dispatcher builder use), each reported on
/// the tokens that break it.
fn check_spec_rules(def: &ToolDef, errors: &mut Errors) {
    let attr = &def.attr;
    // The rules read kinds and flags, not the strings: placeholders keep
    // this free of leaked allocations. Blank resources and names are
    // reported by the attribute parser on their own tokens.
    let mask = attr
        .effects
        .iter()
        .fold(0usize, |mask, e| mask | 1 << e.kind as usize);
    let spec = ToolSpec {
        name: "tool",
        description: if def.description.is_some() {
            "documented"
        } else {
            ""
        },
        effects: effect_set(mask),
        pure: attr.pure.is_some(),
        scope: attr.scope.as_ref().map(|s| s.kind),
        irreversible: def
            .irreversible
            .as_ref()
            .map(|_| Irreversibility { reason: None }),
        sinks: agentsec_core::Sinks {
            declared: if first_sink(def).is_some() {
                &["argument"]
            } else {
                &[]
            },
            on_untrusted: agentsec_core::SinkPolicy::Deny,
        },
        ..ToolSpec::new("tool", "")
    };
    let name = def.name();
    // A `name = "..."` is checked where it is parsed; a function name can be
    // too long or not ASCII.
    if def.attr.name.is_none() && !agentsec_core::is_valid_tool_name(&name) {
        let rule = ToolRule::InvalidName;
        errors.spanned(
            &def.func.sig.ident,
            format!("tool `{name}` {}", rule.message()),
            rule.help(),
        );
    }
    let mut irreversible_reported = false;
    for rule in spec.violations() {
        let message = format!("tool `{name}` {}", rule.message());
        let help = rule.help();
        match rule {
            // Reported with the doc comment's own wording in `check_doc`; an
            // empty resource by the attribute parser, on the string.
            ToolRule::MissingDescription | ToolRule::EmptyResource => {}
            // The spec holds a placeholder name: the real one is checked above.
            ToolRule::InvalidName => {}
            ToolRule::NoEffect => {
                if !attr.effect_key_written {
                    errors.at(def.attr_span, message, help);
                }
            }
            ToolRule::PureWithEffects => {
                if let Some(pure) = attr.pure {
                    errors.at(pure, message, help);
                }
            }
            ToolRule::PureWithScope => {
                if let Some(scope) = &attr.scope {
                    errors.at(scope.value.span(), message, help);
                }
            }
            ToolRule::DataEffectWithoutScope => {
                if !attr.scope_key_written
                    && let Some(effect) = attr.effects.iter().find(|e| e.kind.is_data())
                {
                    errors.at(effect.key.span(), message, help);
                }
            }
            ToolRule::DeleteNotIrreversible | ToolRule::EgressNotIrreversible => {
                let kind = if rule == ToolRule::DeleteNotIrreversible {
                    EffectKind::Delete
                } else {
                    EffectKind::Egress
                };
                // One error per tool is enough to say what to add.
                if !irreversible_reported
                    && let Some(effect) = attr.effects.iter().find(|e| e.kind == kind)
                {
                    irreversible_reported = true;
                    errors.at(effect.key.span(), message, help);
                }
            }
            ToolRule::SinkWithoutChange => {
                if let Some(sink) = first_sink(def) {
                    errors.spanned(sink, message, help);
                }
            }
            ToolRule::IrreversibleWithoutChange => {
                if let Some(irreversible) = &def.irreversible {
                    match &irreversible.tokens {
                        Some(tokens) => errors.spanned(tokens, message, help),
                        None => errors.at(irreversible.span, message, help),
                    }
                }
            }
            _ => errors.at(def.attr_span, message, help),
        }
    }
}

/// The first `#[sink]` attribute, if any.
fn first_sink(def: &ToolDef) -> Option<&syn::Attribute> {
    def.params.iter().find_map(|p| p.sink.as_ref())
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
        if identity_args::is_identity_argument_for(&name, scope.kind) {
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
                    let owned = owned_suggestion(&r.elem);
                    if looks_like_state(&r.elem) {
                        // `&Shop` is most likely application state: making
                        // it owned would make it a model argument instead.
                        errors.spanned(
                            r,
                            format!(
                                "`{}: &{owned}` is neither application state nor a model-visible argument",
                                param.ident
                            ),
                            format!(
                                "if `{owned}` is application state, write `#[state] {}: &{owned}` (and give it to the \
                                 runtime with `.state(...)`); if the model supplies it, take it owned: `{}: {owned}`",
                                param.ident, param.ident
                            ),
                        );
                    } else {
                        errors.spanned(
                            r,
                            "model-visible arguments must be owned values",
                            format!(
                                "write `{}: {owned}` (e.g. `String` instead of `&str`): arguments are decoded from the model's JSON",
                                param.ident,
                            ),
                        );
                    }
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

/// A model-visible argument named like a credential would carry a secret
/// through the model provider and the run's records.
fn check_credential_names(def: &ToolDef, errors: &mut Errors) {
    for param in def.model_params() {
        let name = super::ast::unraw(&param.ident);
        // A secret type is reported on its own, with the same fix.
        if identity_args::is_credential_argument(&name) && find_secret_type(&param.ty).is_none() {
            errors.spanned(
                &param.ident,
                format!(
                    "`{name}` is named like a credential, but the model would supply it: \
                     it would pass through the model provider, the prompt and the run's records"
                ),
                format!(
                    "take it from the secret store with `#[secret(\"{name}\")] {name}: SecretString`; \
                     if it is not a secret, give it a name that does not look like one"
                ),
            );
        }
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

/// Whether a referenced type is likely application state: a named type
/// other than the borrowed forms of argument types (`str`, `[T]`, `Path`,
/// `Value`, ...).
fn looks_like_state(elem: &Type) -> bool {
    const BORROWED_ARGUMENTS: &[&str] = &["str", "String", "Path", "OsStr", "Value", "CStr"];
    match elem {
        Type::Path(path) => path.path.segments.last().is_some_and(|last| {
            let name = last.ident.to_string();
            !BORROWED_ARGUMENTS.contains(&name.as_str()) && name.starts_with(char::is_uppercase)
        }),
        _ => false,
    }
}

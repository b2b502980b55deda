//! What a tool with errors expands to: the errors, the function as written,
//! and a placeholder tool type, so that code naming the tool (an agent's
//! `tools(...)`) does not add a cascade of unrelated errors.

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::ToolDef;
use super::expand::type_ident;
use crate::diag::Errors;

pub fn expand(def: &ToolDef, errors: &Errors) -> TokenStream {
    let errors = errors.to_compile_errors();
    let func = &def.func;
    let vis = &func.vis;
    let ty = type_ident(def);
    // The placeholder keeps every tool rule, so an agent listing the broken
    // tool adds no error of its own: the name is made valid (it is unique as
    // the function's name is) and the description says what happened.
    let name: String = def
        .name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(agentsec_core::rules::MAX_TOOL_NAME_LEN)
        .collect();
    quote! {
        #errors
        #func

        #[doc(hidden)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ty;

        impl ::agentsec::Tool for #ty {
            const SPEC: ::agentsec::ToolSpec = ::agentsec::ToolSpec::new(#name, "This tool did not compile.");
            type Args = ::agentsec::__private::serde_json::Value;
            type Output = ::agentsec::__private::serde_json::Value;

            fn execute(
                _: &::agentsec::ToolCtx,
                _: Self::Args,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<Self::Output, ::agentsec::ToolError>> + ::core::marker::Send {
                async { ::core::result::Result::Err(::agentsec::ToolError::failed("this tool did not compile")) }
            }
        }
    }
}

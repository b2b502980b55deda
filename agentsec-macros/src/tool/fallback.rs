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
    let placeholder = placeholder(&def.func.sig.ident, &def.name(), vis);
    quote! {
        #errors
        #func
        #placeholder
    }
}

/// The tool type of the function `fn_ident` (tool name `name`), declared
/// without a working body.
pub fn placeholder(fn_ident: &syn::Ident, name: &str, vis: &dyn quote::ToTokens) -> TokenStream {
    let ty = type_ident(fn_ident);
    // The placeholder keeps every tool rule, so an agent listing the broken
    // tool adds no error of its own: the name is made valid (it is unique as
    // the function's name is) and the description says what happened.
    let name: String = name
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
        #[doc(hidden)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ty;

        #[automatically_derived]
        impl ::agentsec::__private::v1::Tool for #ty {
            const SPEC: ::agentsec::__private::v1::ToolSpec = ::agentsec::__private::v1::ToolSpec::new(#name, "This tool did not compile.");
            type Args = ::agentsec::__private::v1::serde_json::Value;
            type Output = ::agentsec::__private::v1::serde_json::Value;

            fn execute(
                _: &::agentsec::__private::v1::ToolCtx,
                _: Self::Args,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<Self::Output, ::agentsec::__private::v1::ToolError>> + ::core::marker::Send {
                async { ::core::result::Result::Err(::agentsec::__private::v1::ToolError::failed("this tool did not compile")) }
            }
        }
    }
}

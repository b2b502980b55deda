//! Code generation for an agent.

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::AgentDef;
use super::valid::path_text;
use crate::diag::Errors;
use crate::tool::tool_type_path;

fn agent_name(def: &AgentDef) -> String {
    def.attr
        .name
        .as_ref()
        .map(|n| n.value())
        .unwrap_or_else(|| def.item.ident.to_string().to_snake_case())
}

fn option<T: quote::ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

pub fn expand(def: &AgentDef) -> TokenStream {
    let item = &def.item;
    let ident = &item.ident;
    let attr = &def.attr;
    let name = agent_name(def);
    let prompt = def.prompt.as_ref().expect("checked: the prompt loaded");
    let prompt_expr = match &prompt.file {
        // `include_str!` makes the crate depend on the file: editing the
        // prompt rebuilds the agent and so its prompt version.
        Some((_, path)) => quote!(::core::include_str!(#path)),
        None => {
            let text = &prompt.text;
            quote!(#text)
        }
    };
    let prompt_file = option(prompt.file.as_ref().map(|(lit, _)| lit));
    let version = &prompt.version;
    let max_iterations = attr.max_iterations.map(|(n, _)| n).unwrap_or(1);
    let budget = attr.budget.as_ref().expect("checked: a budget is declared");
    let tokens = option(budget.tokens);
    let tool_calls = option(budget.tool_calls);
    let usd = option(budget.usd);
    let model = option(attr.model.as_ref());
    let untrusted_input = attr.untrusted_input;

    let tool_types: Vec<syn::Path> = attr.tools.iter().map(tool_type_path).collect();
    let specs: Vec<TokenStream> = tool_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> <#ty as ::agentsec::__private::v1::Tool>::SPEC))
        .collect();
    let assertions = assertions(def, &name, &tool_types, &specs);
    quote! {
        #item

        #[automatically_derived]
        impl ::agentsec::__private::v1::Agent for #ident {
            const SPEC: ::agentsec::__private::v1::AgentSpec = ::agentsec::__private::v1::AgentSpec {
                name: #name,
                prompt: #prompt_expr,
                prompt_version: #version,
                prompt_file: #prompt_file,
                tools: &[#(#specs),*],
                max_iterations: #max_iterations,
                budget: ::agentsec::__private::v1::BudgetSpec { tokens: #tokens, tool_calls: #tool_calls, usd: #usd },
                model: #model,
                untrusted_input: #untrusted_input,
            };
            fn register_tools(builder: ::agentsec::__private::v1::DispatcherBuilder) -> ::agentsec::__private::v1::DispatcherBuilder {
                builder #(.tool::<#tool_types>())*
            }
        }

        #assertions
    }
}

/// The rules that need the tools' specs, as `const` assertions spanned on
/// each tool's name in `tools(...)`: rustc reports "evaluation panicked:
/// <message>" there. They also hold for tools implemented by hand.
fn assertions(
    def: &AgentDef,
    agent: &str,
    tools: &[syn::Path],
    specs: &[TokenStream],
) -> TokenStream {
    let names: Vec<String> = def.attr.tools.iter().map(path_text).collect();
    let mut out = TokenStream::new();
    for (i, (tool, spec)) in tools.iter().zip(specs).enumerate() {
        let name = &names[i];
        let others: Vec<&String> = names.iter().filter(|n| *n != name).collect();
        let others = others
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let trifecta = format!(
            "agent `{agent}` has the lethal trifecta: tool `{name}` sends data outside (egress) without \
             #[irreversible], while the agent's other tools ({others}) read private data and take in untrusted \
             content, so injected text could exfiltrate the user's data.\n= help: mark `{name}` \
             #[irreversible(reason = \"...\")] so a person approves every send, or split the agent so no agent \
             has all three"
        );
        // One assertion per rule, so the message says which rule; the rule
        // is named by its index in `ToolRule::ALL`, which the macros and
        // the facade share through `agentsec-core`.
        for (index, rule) in agentsec_core::ToolRule::ALL.iter().enumerate() {
            let message = format!(
                "tool `{name}` (listed in agent `{agent}`) {}\n= help: {}",
                rule.message(),
                rule.help()
            )
            // `assert!` reads its message as a format string.
            .replace('{', "{{")
            .replace('}', "}}");
            // An egress tool that completes the lethal trifecta gets the
            // trifecta's message (below), which says more.
            let unless = if *rule == agentsec_core::ToolRule::EgressNotIrreversible {
                quote!(&& !::agentsec::__private::v1::core::reads_private_and_untrusted(&[#(#specs),*]))
            } else {
                quote!()
            };
            out.extend(quote_spanned! {tool.span()=>
                const _: () = ::core::assert!(
                    !(::agentsec::__private::v1::core::ToolRule::ALL[#index].is_broken_by(&#spec) #unless),
                    #message
                );
            });
        }
        out.extend(quote_spanned! {tool.span()=>
            const _: () = ::core::assert!(
                !(#spec.has_egress()
                    && !#spec.is_irreversible()
                    && ::agentsec::__private::v1::core::reads_private_and_untrusted(&[#(#specs),*])),
                #trifecta
            );
        });
        for (j, (earlier, earlier_spec)) in specs
            .iter()
            .enumerate()
            .take(i)
            .map(|(j, s)| (&names[j], s))
            .enumerate()
        {
            let _ = j;
            let message = format!(
                "agent `{agent}`: tools `{earlier}` and `{name}` have the same tool name, so the model could not \
                 tell them apart\n= help: give one of them another name with `#[tool(name = \"...\")]`"
            );
            out.extend(quote_spanned! {tool.span()=>
                const _: () = ::core::assert!(!#spec.same_name(&#earlier_spec), #message);
            });
        }
    }
    out
}

/// What an agent with errors expands to: the errors, the struct, and
/// placeholders of the types users refer to.
pub fn fallback(def: &AgentDef, errors: &Errors) -> TokenStream {
    let errors = errors.to_compile_errors();
    let item = &def.item;
    let ident = &item.ident;
    let name = agent_name(def);
    quote! {
        #errors
        #item

        #[automatically_derived]
        impl ::agentsec::__private::v1::Agent for #ident {
            const SPEC: ::agentsec::__private::v1::AgentSpec = ::agentsec::__private::v1::AgentSpec {
                name: #name,
                prompt: "",
                prompt_version: "",
                prompt_file: ::core::option::Option::None,
                tools: &[],
                max_iterations: 1,
                budget: ::agentsec::__private::v1::BudgetSpec::UNLIMITED,
                model: ::core::option::Option::None,
                untrusted_input: false,
            };
            fn register_tools(builder: ::agentsec::__private::v1::DispatcherBuilder) -> ::agentsec::__private::v1::DispatcherBuilder {
                builder
            }
        }
    }
}

//! Tool-call look-alikes: text shaped like the model's own tool calls (JSON
//! with `tool_calls` or `name` + `arguments`, `<tool_call>` tags) and
//! directives telling the assistant to call a tool.

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use super::text::{Input, excerpt, is_mention};

fn compile(patterns: &[&str]) -> Vec<Regex> {
    patterns.iter().filter_map(|p| Regex::new(p).ok()).collect()
}

static JSON_CALL: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    compile(&[
        r#""(?:tool_calls|function_call|tool_use|tool_call|functioncall|tool_code)"\s*:"#,
        r#"\{\s*"(?:name|tool|function|tool_name|recipient_name)"\s*:\s*"[^"]{1,80}"\s*,\s*"(?:arguments|args|input|params|parameters)"\s*:\s*[\{"]"#,
        r#"\{\s*"(?:arguments|args|input|params)"\s*:\s*\{[^{}]{0,400}\}\s*,\s*"(?:name|tool|function)"\s*:"#,
    ])
});

/// A JSON *schema* (`"parameters": {"type": "object"`) describes a tool; it
/// does not call one. Tool documentation is full of them.
static SCHEMA: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#""parameters"\s*:\s*\{\s*"(?:type|properties)""#).ok());

static TAGS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    compile(&[
        r"</?tool_call>|<\|tool_calls?(?:_section_begin)?\|>|</?function_calls?>|<function=[a-z_]|<invoke\b|</?tool_use>|\[tool_calls\]|<\|python_tag\|>",
    ])
});

/// "call the send_email tool", "use the `delete_user` function".
static DIRECTIVE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:call|invoke|use|run|execute|trigger|fire|appelle|utilise|rufe|nutze|verwende|llama|usa|utiliza|chiama)\s+",
        r"(?:(?:the|your|a|al|la|el|das|die|den|le|l'outil|lo)\s+){0,2}(?:(?:outil|werkzeug|tool|herramienta|funktion|funcion|fonction)\s+)?`?",
        r"([a-z][a-z0-9]*(?:[_.][a-z0-9]+)+)`?(?:\(\))?\s*(tool|function|action|plugin|command|funktion|funcion|fonction)?",
        r"\s*(with|to|for|and|now|on|against|avec|pour|mit|fur|con|para|per)?\b",
    ))
    .ok()
});

/// Someone addressing the model, or asking for secrecy.
static ADDRESS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:assistant|ai|agent|model|llm|chatbot|claude|gpt|copilot|immediately|silently|secretly|without (?:telling|asking|confirmation)|do not (?:tell|ask|mention)|don'?t (?:tell|ask|mention)|you must|you should|you will)\b").ok()
});

pub(crate) fn check(input: &Input, out: &mut Vec<Found>) {
    let text = &input.norm.text;
    let schema = SCHEMA.as_ref().is_some_and(|re| re.is_match(text));
    let json = JSON_CALL
        .iter()
        .flat_map(|re| re.find_iter(text))
        .find(|m| {
            let describes_tool = schema && m.as_str().contains("parameters");
            !describes_tool && !is_mention(input, m.start(), m.end())
        });
    if let Some(m) = json {
        out.push(Found::new("toolcall.json", excerpt(text, m.start(), 80)));
    }
    let tag = TAGS
        .iter()
        .flat_map(|re| re.find_iter(text))
        .find(|m| !is_mention(input, m.start(), m.end()));
    if let Some(m) = tag {
        out.push(Found::new("toolcall.tags", excerpt(text, m.start(), 80)));
    }
    let Some(directive) = DIRECTIVE.as_ref() else {
        return;
    };
    let addressed = ADDRESS.as_ref().is_some_and(|re| re.is_match(text));
    for c in directive.captures_iter(text) {
        let (Some(all), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let kind = c.get(2).map(|k| k.as_str()).unwrap_or("");
        let names_tool = all.as_str().contains("tool")
            || all.as_str().contains("outil")
            || all.as_str().contains("werkzeug")
            || all.as_str().contains("herramienta")
            || matches!(kind, "action" | "plugin");
        // Dotted names (`os.path`) are code, snake_case ones may be tools.
        let snake = name.as_str().contains('_');
        // "use the X tool in your own agent" is advice to a developer; an
        // injected directive goes on to say what to do with it.
        let acts = c.get(3).is_some();
        if snake
            && ((names_tool && acts) || addressed)
            && !is_mention(input, all.start(), all.end())
        {
            out.push(Found::new(
                "toolcall.directive",
                excerpt(text, all.start(), 80),
            ));
            return;
        }
    }
}

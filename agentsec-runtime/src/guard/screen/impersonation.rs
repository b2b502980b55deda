//! Role and system-prompt impersonation: chat-template tokens, fake
//! `system:` / `### System` headers, and persona switches ("you are now
//! DAN", "developer mode enabled").

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use super::text::{Input, excerpt, is_mention};

fn compile(patterns: &[&str]) -> Vec<Regex> {
    patterns.iter().filter_map(|p| Regex::new(p).ok()).collect()
}

/// Special tokens of chat templates (ChatML, Llama, Gemma, ...): never
/// legitimate inside data.
static CHAT_TEMPLATE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    compile(&[
        r"<\|(?:im_start|im_end|system|assistant|user|start_header_id|end_header_id|eot_id|endoftext|begin_of_text)\|>",
        r"\[/?inst\]",
        r"<</?sys>>",
        r"<(?:start|end)_of_turn>",
    ])
});

/// A role label opening a line: `system:`, `[admin]`, `### System prompt`.
static ROLE_LABEL: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    compile(&[
        r"(?m)^[ >*#\[(<-]*(?:system|assistant|developer|admin|administrator|sysadmin|operator|root|openai|anthropic|ai|model)(?:[ _-]?(?:message|prompt|note|override|instructions?|update|notice|command|mode))?[\])>*]* ?:",
        r"(?m)^#{1,6} ?(?:system|system prompt|instructions?|new instructions|admin|developer)(?: message)? ?:? ?$",
        r"\[(?:system|admin|developer|sys)(?: message| note| override| prompt)?\]",
        r"</?(?:system|admin|developer|sys)(?: message| note| override| prompt)?>",
        r"\b(?:official )?(?:message|notice|update|note|announcement) from (?:openai|anthropic|google|the (?:system|developers?|admin(?:istrator)?|operator)|your (?:developers?|creators?|operator))\s*:",
    ])
});

/// What makes a role label an instruction to the model rather than, say,
/// `System: Ubuntu 22.04` in a bug report.
static ROLE_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:ignore|disregard|forget|override|from now on|you are now|you must|you will now|new instructions|instructions|assistant|the ai|the model|jailbreak|restrictions|reveal|unrestricted|developer mode|obey|comply|system prompt|previous|safety|content policy|suspended|disabled)\b").ok()
});

/// Persona switches.
static PERSONA: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    compile(&[
        r"\byou are now (?:an? |in |the |my )?(?:[a-z]+ ){0,2}?(?:ai|assistant|bot|chatbot|model|llm|dan|unrestricted|unfiltered|uncensored|jailbroken|evil|rogue|persona|character)\b",
        r"\byou are now in (?:[a-z]+ )?mode\b",
        r"\b(?:act|behave|respond|roleplay|pretend)(?: as| like| to be| you are| that you are)? (?:an? |the )?(?:[a-z]+ ){0,2}?(?:dan|unrestricted|unfiltered|uncensored|jailbroken|jailbreak|evil|rogue|amoral|unethical)\b",
        r"\bdo anything now\b",
        r"\b(?:known as|called|named) dan\b",
        r"\brole of (?:an?(?:other)? |the )?(?:[a-z]+ ){0,2}?(?:ai|model|assistant|chatbot|llm)\b",
        r"\ban? (?:ai|assistant|model|chatbot|llm) (?:without|with no) (?:any )?(?:restrictions|rules|filters|ethics|limits|guidelines|censorship|morals)\b",
        r"\bstay in character\b",
        r"\bno (?:longer )?(?:bound|restricted|limited) by (?:any |your |the )?(?:[a-z]+ )?(?:rules|guidelines|policies|restrictions|filters)\b",
        r"\b(?:answer|respond|reply)[a-z ]{0,20} without (?:any )?(?:restrictions|filters|censorship|limits|limitations|rules|refusals?)\b",
        r"\btu es (?:maintenant|desormais) (?:une? )?(?:[a-z]+ ){0,2}?(?:ia|ai|assistant|dan|bot|libre)\b",
        r"\bdu bist (?:jetzt|nun|ab sofort) (?:eine? )?(?:[a-z]+ ){0,2}?(?:ki|ai|assistent|dan|bot|frei)\b",
        r"\b(?:ahora|a partir de ahora) eres (?:una? )?(?:[a-z]+ ){0,2}?(?:ia|ai|asistente|dan|bot|libre)\b",
        r"\b(?:reponds|antworte|responde)[a-z ]{0,20} (?:sans|ohne|sin) (?:aucune |jegliche |ninguna )?(?:restrictions?|einschrankungen|restricciones|filtres?|filter|filtros)\b",
    ])
});

/// "developer mode" and friends: a switch only when the text is about an AI.
static MODE_SWITCH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:developer|dev|god|dan|jailbreak|jailbroken|sudo|unrestricted|unfiltered)[ -]mode\b",
    )
    .ok()
});
static AI_CONTEXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:chatgpt|gpt|ai|assistant|model|llm|restrictions|filters|content polic(?:y|ies)|censor\w*|guidelines|openai|anthropic|claude|language model)\b").ok()
});

pub(crate) fn check(input: &Input, out: &mut Vec<Found>) {
    let text = &input.norm.text;
    let first = |res: &[Regex]| {
        res.iter()
            .flat_map(|re| re.find_iter(text))
            .find(|m| !is_mention(input, m.start(), m.end()))
            .map(|m| m.start())
    };
    if let Some(at) = first(&CHAT_TEMPLATE) {
        out.push(Found::new(
            "impersonation.chat_template",
            excerpt(text, at, 80),
        ));
    }
    if let Some(cue) = ROLE_CUE.as_ref() {
        let hit = ROLE_LABEL
            .iter()
            .flat_map(|re| re.find_iter(text))
            .find(|m| {
                // The label's own line, or the next line for a bare header.
                let rest = text.get(m.end()..).unwrap_or("");
                let body: String = rest
                    .trim_start_matches([' ', '\n'])
                    .chars()
                    .take(240)
                    .collect();
                cue.is_match(&body) && !is_mention(input, m.start(), m.end())
            });
        if let Some(m) = hit {
            out.push(Found::new(
                "impersonation.role_header",
                excerpt(text, m.start(), 80),
            ));
        }
    }
    let persona = first(&PERSONA).or_else(|| {
        let (Some(mode), Some(ai)) = (MODE_SWITCH.as_ref(), AI_CONTEXT.as_ref()) else {
            return None;
        };
        let m = mode.find(text)?;
        (ai.is_match(text) && !is_mention(input, m.start(), m.end())).then_some(m.start())
    });
    if let Some(at) = persona {
        out.push(Found::new("impersonation.persona", excerpt(text, at, 80)));
    }
}

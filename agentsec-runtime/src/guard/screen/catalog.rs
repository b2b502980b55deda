//! The catalogue of screening rules: ids, families and default verdicts.

use serde::Serialize;

use super::Verdict;

/// The family a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCategory {
    /// "Ignore all previous instructions" and relatives.
    InstructionOverride,
    /// Fake system/role headers, chat-template tokens, persona switches.
    Impersonation,
    /// Unicode tag characters, zero-width and bidi control characters.
    HiddenText,
    /// Base64/hex/escaped blobs that decode to instructions.
    EncodedPayload,
    /// Links and images that carry data out, instructions to mail data away.
    Exfiltration,
    /// Text shaped like the model's own tool calls.
    ToolCallLookalike,
}

impl RuleCategory {
    /// The prefix of the ids of this category's rules (`override`, `hidden`, ...).
    pub const fn prefix(self) -> &'static str {
        match self {
            RuleCategory::InstructionOverride => "override",
            RuleCategory::Impersonation => "impersonation",
            RuleCategory::HiddenText => "hidden",
            RuleCategory::EncodedPayload => "encoded",
            RuleCategory::Exfiltration => "exfil",
            RuleCategory::ToolCallLookalike => "toolcall",
        }
    }
}

/// A rule of [`RuleGuard`](super::RuleGuard), with its default verdict.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    /// The stable id (`override.instructions`), used in hits and configuration.
    pub id: &'static str,
    /// Its family.
    pub category: RuleCategory,
    /// What a hit yields unless configured otherwise.
    pub default: Verdict,
    /// What the rule looks for.
    pub description: &'static str,
}

const fn rule(
    id: &'static str,
    category: RuleCategory,
    default: Verdict,
    description: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        category,
        default,
        description,
    }
}

use RuleCategory as C;
use Verdict::{Block, Flag};

/// Every rule of [`RuleGuard`](super::RuleGuard).
pub const RULES: &[RuleInfo] = &[
    rule(
        "override.instructions",
        C::InstructionOverride,
        Block,
        "a dismissal of the model's instructions (en/fr/de/es/it/pt)",
    ),
    rule(
        "override.new_instructions",
        C::InstructionOverride,
        Block,
        "\"new instructions:\", \"from now on you ...\", \"your new task is\"",
    ),
    rule(
        "override.obfuscated",
        C::InstructionOverride,
        Block,
        "an override spelt with spaces or punctuation between letters",
    ),
    rule(
        "impersonation.chat_template",
        C::Impersonation,
        Block,
        "chat-template tokens such as <|im_start|>, [INST], <<SYS>>",
    ),
    rule(
        "impersonation.role_header",
        C::Impersonation,
        Block,
        "a system/admin role label followed by instructions to the model",
    ),
    rule(
        "impersonation.persona",
        C::Impersonation,
        Block,
        "a persona switch: \"you are now DAN\", \"developer mode\"",
    ),
    rule(
        "hidden.unicode_tags",
        C::HiddenText,
        Block,
        "text hidden in Unicode tag characters (U+E0000..U+E007F)",
    ),
    rule(
        "hidden.zero_width",
        C::HiddenText,
        Flag,
        "zero-width characters inside words",
    ),
    rule(
        "hidden.bidi_control",
        C::HiddenText,
        Flag,
        "bidirectional overrides, or bidi controls in left-to-right text",
    ),
    rule(
        "encoded.payload",
        C::EncodedPayload,
        Block,
        "an encoded blob that decodes to instructions",
    ),
    rule(
        "exfil.markdown_image",
        C::Exfiltration,
        Block,
        "an image URL whose query carries data or a placeholder",
    ),
    rule(
        "exfil.link_with_data",
        C::Exfiltration,
        Block,
        "a link or URL with a placeholder for conversation data",
    ),
    rule(
        "exfil.instruction",
        C::Exfiltration,
        Block,
        "an instruction to put conversation data into a URL",
    ),
    rule(
        "exfil.mail_away",
        C::Exfiltration,
        Block,
        "an instruction to send secrets or all data to an address",
    ),
    rule(
        "toolcall.json",
        C::ToolCallLookalike,
        Block,
        "JSON shaped like a tool call (tool_calls, name + arguments)",
    ),
    rule(
        "toolcall.tags",
        C::ToolCallLookalike,
        Block,
        "tool-call markup such as <tool_call>",
    ),
    rule(
        "toolcall.directive",
        C::ToolCallLookalike,
        Flag,
        "an instruction to call a named tool",
    ),
];

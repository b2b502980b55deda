//! Word lists of the instruction-override rule, by language. Words are
//! matched against tokens of the normalised text (lowercase, no accents).

use std::collections::HashSet;
use std::sync::LazyLock;

/// A set of words, built once.
pub(super) struct WordSet(HashSet<&'static str>);

impl WordSet {
    fn new(groups: &[&'static str]) -> Self {
        Self(
            groups
                .iter()
                .flat_map(|g| g.split_ascii_whitespace())
                .collect(),
        )
    }

    /// Whether `word` is in the set.
    pub(super) fn has(&self, word: &str) -> bool {
        self.0.contains(word)
    }
}

/// Verbs that dismiss instructions ("ignore", "oubliez", "vergiss", "olvida").
pub(super) static VERBS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        // en
        "ignore disregard forget override bypass discard abandon neglect overlook dismiss nullify supersede unlearn circumvent",
        // fr
        "ignorez ignorer oublie oubliez oublier abstraction contourne contournez",
        // de
        "ignoriere ignorieren ignorier vergiss vergessen vergesst missachte missachten ubergehe ubergehen verwirf verwerfen",
        // es / it / pt
        "ignora ignorad ignorar olvida olvide olvidad olvidar omite omitir descarta omiso dimentica dimenticate tralascia esqueca desconsidere desconsidera",
        // nl
        "negeer vergeet",
        // "set aside your instructions", "scratch the rules"
        "aside scratch",
    ])
});

/// Verbs that override only when negated: "do not follow your rules".
pub(super) static NEGATED_VERBS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "follow following obey heed respect honor honour befolge befolgen folge suis suivez respecte respectez compte sigas sigan sigue obedezcas seguir segui obbedire attention volg",
    ])
});

/// Nouns for instructions.
pub(super) static NOUNS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        // en
        "instructions instruction prompt prompts rules directions guidelines directives directive commands orders guidance programming constraints restrictions policies safeguards systemprompt",
        // fr
        "consignes consigne regles ordres indications commandes",
        // de
        "anweisungen anweisung instruktionen befehle regeln vorgaben richtlinien anordnungen einschrankungen",
        // es / it / pt
        "instrucciones instruccion reglas indicaciones directrices ordenes normas comandos restricciones istruzioni regole instrucoes regras orientacoes",
        // nl
        "instructies regels opdrachten",
    ])
});

/// Qualifiers placing the instructions before the attacker's text or with the model.
pub(super) static QUALIFIERS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        // en
        "previous prior above earlier preceding former original initial all any every system programmed hidden safety your yours thy",
        // fr
        "precedentes precedente anterieures anterieurs dessus toutes tous initiales systeme originales tes vos ton ta votre",
        // de
        "vorherigen vorigen bisherigen obigen alle allen fruheren ursprunglichen vorangegangenen deine deinen deiner ihre ihren",
        // es / it / pt
        "anteriores previas todas todos originales iniciales sistema arriba tus sus precedenti tutte tutti sopra tue tuoi acima suas seus tuas",
        // nl
        "vorige eerdere je jouw",
    ])
});

/// First-person words: the writer dismissing their own instructions.
pub(super) static FIRST_PERSON: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "my our mes mon ma nos notre meine meinen meiner unsere unseren mis mi nuestras nuestros miei mie minhas meus i we je ich wir yo io eu",
    ])
});

/// Negations before a verb ("never ignore").
pub(super) static NEGATIONS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "not never don dont t nicht nie niemals pas jamais ne n no nunca non nao without avoid stop cease longer kein keine",
    ])
});

/// "everything" in "forget everything above".
pub(super) static EVERYTHING: LazyLock<WordSet> =
    LazyLock::new(|| WordSet::new(&["everything all anything tout alles todo tutto tudo"]));

/// "above"/"before" anchors for the "everything" and "the above" forms.
pub(super) static ANCHORS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "above before prior previously earlier said told precede dessus oben vorher davor bisher gesagt anterior antes arriba dicho sopra prima detto acima anteriormente",
    ])
});

/// Words right after "ignore the above," that show a new instruction follows.
pub(super) static FOLLOWUPS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "instead now new task print reveal say output respond reply tell write repeat show list give send translate maintenant jetzt ahora ora agora dis sag sage di dime escribe ecris schreibe gib reponds antworte responde revele revela zeige muestra affiche",
    ])
});

/// Words before "to ignore" that make it a description ("attempts to ignore").
pub(super) static DESCRIPTIVE_TO: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "attempt attempts attempted attempting try tries tried trying designed meant able unable how way ways used aim aims intended tricked trick tricks convince convinced manipulate manipulated persuade persuaded cause caused lead leads led causing want wants into",
    ])
});

/// Reporting verbs: "tells the model to ignore ...".
pub(super) static REPORTING: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "tells told telling instructs instructed asks asked tricks tricked tricking convinces convinced makes made making causes caused gets getting forces forced coax coaxes persuades persuaded urges urged",
    ])
});

/// Nouns for the model, as the object of a reporting verb.
pub(super) static AI_NOUNS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(&[
        "model models llm llms assistant bot chatbot agent agents ai system gpt chatgpt claude it them",
    ])
});

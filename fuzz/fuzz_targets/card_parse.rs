//! The model card parser alone, without the transparency report the `card` target builds around
//! it (that one runs at about 80 inputs a second): the YAML front matter and sections
//! (`transparency::card::parse_card`), then every accessor the report reads the card through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let card = glassbox::transparency::card::parse_card(&text);
    let _ = card.filled_ratio();
    let _ = card.hidden_text_findings();
    for key in ["license", "license_name", "base_model", "datasets", "language", "tags"] {
        let _ = card.strings(key);
    }
    let _ = card.section(&["Model Details", "Out-of-Scope Use", "Preprocessing"]);
    let _ = card.labelled("Developed by");
    for section in &card.sections {
        let _ = section.fill();
    }
});

"""Health-data screening of lead need descriptions (GDPR art. 9): corpus quality, traps, offsets, lexicon loading."""
from __future__ import annotations

import unicodedata
from itertools import pairwise
from pathlib import Path

import pytest

from compliance import health_data
from compliance.errors import LexiconError
from compliance.health_data import CATEGORIES, LANGUAGES, Hit, Screener, contains_health_data, screen
from compliance.health_matcher import normalise

CORPUS_DIR = Path(__file__).resolve().parent / "health_corpus"
MIN_PRECISION = MIN_RECALL = 0.95
MIN_SENTENCES = 40          # of each label, per language
#: medical: a plain statement about health; evasion: the same, disguised (both must be refused); clean: must pass
LABELS = ("medical", "evasion", "clean")


def load_corpus(language: str) -> list[tuple[str, str]]:
    rows = []
    path = CORPUS_DIR / f"{language}.tsv"
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        assert sep and label in LABELS and text.strip(), f"{path.name}:{lineno}: bad line {line!r}"
        rows.append((label, text))
    return rows


# --------------------------------------------------------------------------- the corpora


@pytest.mark.parametrize("language", LANGUAGES)
def test_corpus_is_large_enough_and_balanced(language):
    rows = load_corpus(language)
    medical = sum(1 for label, _ in rows if label == "medical")
    clean = sum(1 for label, _ in rows if label == "clean")
    assert any(label == "evasion" for label, _ in rows), f"{language}: no evasions"
    assert medical >= MIN_SENTENCES and clean >= MIN_SENTENCES, f"{language}: {medical} medical, {clean} clean"
    texts = [text for _, text in rows]
    assert len(texts) == len(set(texts)), f"{language}: duplicate sentences"


@pytest.mark.parametrize("language", LANGUAGES)
def test_precision_and_recall_on_the_corpus(language):
    tp = fp = fn = tn = 0
    missed, wrongly_refused = [], []
    for label, text in load_corpus(language):
        hits = screen(text)
        if label != "clean":
            if hits:
                tp += 1
            else:
                fn += 1
                missed.append(text)
        elif hits:
            fp += 1
            wrongly_refused.append(f"{text}  <- {[(h.term, h.language, h.category) for h in hits]}")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    report = (f"{language}: precision {precision:.3f}, recall {recall:.3f} (tp={tp} fp={fp} fn={fn} tn={tn})"
              + "".join(f"\n  missed (medical seen as clean): {t}" for t in missed)
              + "".join(f"\n  wrongly refused (clean seen as medical): {t}" for t in wrongly_refused))
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, report


# --------------------------------------------------------------------------- the policy, by example

TRAPS = [
    # ordinary insurance vocabulary
    "health insurance", "Looking for health insurance for a couple relocating to Dubai",
    "medical cover", "hospital cover", "dental and optical options",
    "family doctor appointment for a visa", "maternity cover for the future", "check-up included?",
    "the doctor network in Dubai", "pregnancy and childbirth cover", "mental health cover for his staff",
    "physiotherapy included?", "are pre-existing conditions covered?", "private hospitals in Bangkok",
    # professions and non-medical senses
    "Dr. Patel, a surgeon, is moving to Auckland", "Nurse relocating to Abu Dhabi", "tax treatment of premiums",
    "operations manager", "terms and conditions", "expecting to move in March",
    "He works for a lithium mining company", "Registered with a GP surgery in London",
    "Please cancel the previous request", "Wants to pay the premium as a lump sum",
    "The client is anxious to get a quote before Friday", "Please send a breakdown of the premium",
    "He suffered a loss on his house sale", "Client is a psychiatrist relocating to Singapore",
    "Le document fourni est invalide", "Psichiatra che si trasferisce a Londra",
    "Tiene una operación pendiente con el banco", "Психиатр по профессии, переезжает в Дубай",
    # the portal's own examples
    "Family of four moving to Lisbon, needs international health cover from January",
    "Couple relocating to Porto, looking for international health cover",
    # other languages
    "Cherche une assurance santé internationale, garantie maternité pour plus tard",
    "Le Dr Martin, chirurgien, part à Auckland", "Conditions générales en français, s'il vous plaît",
    "Logement de fonction dans l'enceinte de l'ambassade", "Affilié à l'Assurance Maladie jusqu'en juin",
    "Uniquement l'hospitalisation, une franchise élevée ne pose pas de problème",
    "Cerca un'assicurazione sanitaria internazionale", "Il dott. Bianchi, chirurgo, si trasferisce",
    "La famiglia aspetta il visto per partire a marzo", "Il cliente chiede informazioni sul trattamento fiscale",
    "Busca un seguro médico internacional", "Director de operaciones trasladado a Riad",
    "Ya ha ingresado por transferencia el importe de la primera prima", "La familia espera el visado",
    "Нужна международная медицинская страховка", "Операционный директор переезжает в Эр-Рияд",
    "Семья ждёт визу, чтобы уехать в марте", "Покрываются ли хронические заболевания?",
    "Потрібне міжнародне медичне страхування", "Хочуть страхування здоров'я для всієї сім'ї",
    "Здоровий глузд підказує взяти план із вищим лімітом", "Сім'я чекає на візу",
]

REFUSED = [
    "Moving to Lisbon; my wife is pregnant and I take insulin for diabetes",
    "He had cancer surgery last year, needs cover",
    "She is pregnant and wants maternity cover",         # the benefit wish does not excuse "pregnant"
    "They need cover for her pregnancy",                 # a possessive makes the benefit a fact about her
    "Looking for cover for diabetes",                    # a named disease is always refused
    "Both are non-smokers in good health",
    "Épouse enceinte de 5 mois", "Il figlio ha il diabete", "Esposa embarazada de 5 meses",
    "Жена беременна", "Дружина вагітна", "У мужа рассеянный склероз", "Хворіє на діабет з дитинства",
]


@pytest.mark.parametrize("text", TRAPS)
def test_insurance_vocabulary_and_other_senses_are_clean(text):
    assert screen(text) == [], f"{text!r} refused: {health_data.default_screener().explain(text)}"
    assert contains_health_data(text) is False


@pytest.mark.parametrize("text", REFUSED)
def test_statements_about_health_are_refused(text):
    hits = screen(text)
    assert hits and contains_health_data(text)
    assert all(h.category in CATEGORIES for h in hits)


def test_lead_example_names_each_kind_of_health_data():
    hits = screen("Moving to Lisbon; my wife is pregnant and I take insulin for diabetes")
    assert [(h.term, h.category) for h in hits] == [
        ("pregnant", "reproductive_health"), ("insulin", "medication"), ("diabetes", "condition")]


# --------------------------------------------------------------------------- offsets and normalisation


@pytest.mark.parametrize("text, term", [
    ("Client atteint de DIABÈTE depuis 2019", "DIABÈTE"),
    ("L'épouse est ENCEINTE de 5 mois", "ENCEINTE"),
    ("Diabète de type 1, sous insuline", "Diabète"),
    ("Её муж перенёс ИНФАРКТ в прошлом году", "ИНФАРКТ"),
    ("Дружина вагітна, переїжджають до Відня", "вагітна"),
    ("Дружина вагiтна (латинська i)", "вагiтна"),                  # Ukrainian typed with a Latin "i"
    ("Esposa embarazada, se mudan a Madrid", "embarazada"),
    ("Mon client est séropositif", "séropositif"),
    ("Straße 5, ﬁbromyalgia since 2020", "ﬁbromyalgia"),         # casefold/NFKD changes lengths before it
    ("ŒUVRE, cœur, Müller: pregnant", "pregnant"),
])
def test_offsets_point_at_the_word_in_the_original_text(text, term):
    hits = screen(text)
    assert all(isinstance(h, Hit) and text[h.start:h.end] == h.term for h in hits)
    assert [(h.start, h.end) for h in hits if h.term == term] == [(text.index(term), text.index(term) + len(term))]


def test_offsets_keep_combining_accents_of_decomposed_text():
    text = unicodedata.normalize("NFD", "Maladie : diabète, insuline")
    hits = screen(text)
    assert [h.term for h in hits] and all(text[h.start:h.end] == h.term for h in hits)
    diabete = unicodedata.normalize("NFD", "diabète")
    (hit,) = [h for h in hits if h.term == diabete]      # the accent after "e" belongs to the hit
    assert hit.start == text.index(diabete) and hit.end == hit.start + len(diabete)


def test_invisible_characters_do_not_hide_a_word():
    text = "She is preg\u00adnant, moving to Rome"           # soft hyphen inside the word
    (hit,) = screen(text)
    assert hit.term == "preg\u00adnant" and text[hit.start:hit.end] == hit.term


def test_normalise_folds_case_accents_apostrophes_and_dashes():
    assert normalise("DIABÈTE") == "diabete"
    assert normalise("Крона’s — Ёлка Йод") == "крона's - елка иод"
    assert normalise("вагiтна") == "вагiтна"                     # the Latin i stays; lexicons accept both


def test_mixed_language_text():
    text = "Family moving to Paris; l'épouse est enceinte, муж принимает инсулин"
    hits = screen(text)
    assert {(h.term, h.language, h.category) for h in hits} == {
        ("enceinte", "fr", "reproductive_health"), ("инсулин", "ru", "medication")}
    for h in hits:
        assert text[h.start:h.end] == h.term


def test_hits_are_credited_to_the_first_language_that_knows_the_word():
    assert [h.language for h in screen("incinta")] == ["it"]
    assert [h.language for h in screen("вагітна")] == ["uk"]
    assert [h.language for h in screen("cancer")] == ["en"]      # en, fr and es all list it: en comes first


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "2027-01-15", "---", "’"])
def test_empty_or_meaningless_text_is_clean(text):
    assert screen(text) == [] and not contains_health_data(text)


def test_screen_needs_a_string():
    with pytest.raises(TypeError, match="needs a str"):
        screen(None)  # type: ignore[arg-type]


def test_hits_are_in_order_and_do_not_overlap():
    hits = screen("Pregnant, diabetic, on insulin and antidepressants after a stroke")
    assert len(hits) == 5
    assert all(a.end <= b.start for a, b in pairwise(hits))


# --------------------------------------------------------------------------- the lexicons and their loading


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_lexicon_covers_every_category(language):
    screener = Screener(languages=(language,))
    used = {entry.category for entry in screener._entries}
    assert set(CATEGORIES) <= used, f"{language}: no entries for {set(CATEGORIES) - used}"


def write_lexicon(tmp_path: Path, text: str, language: str = "en") -> Path:
    (tmp_path / f"{language}.txt").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("text, message", [
    ("condition\t(diabetes|asthma)\n", r"en\.txt:1: capturing group in '\(diabetes\|asthma\)'; use \(\?:\.\.\.\)"),
    ("# comment\n\nillness\tflu\n", r"en\.txt:3: unknown category 'illness'"),
    ("condition diabetes\n", r"en\.txt:1: expected 'category<TAB>pattern'"),
    ("condition\t\n", r"en\.txt:1: expected 'category<TAB>pattern'"),
    ("condition\tdiab[etes\n", r"en\.txt:1: bad pattern 'diab\[etes'"),
    ("condition\t(?:x)?\n", r"en\.txt:1: pattern '\(\?:x\)\?' matches the empty string"),
    ("# only comments\n", r"no lexicon entries"),
])
def test_lexicon_errors_are_clear(tmp_path, text, message):
    with pytest.raises(LexiconError, match=message):
        Screener(write_lexicon(tmp_path, text), languages=("en",))


def test_a_missing_lexicon_is_a_lexicon_error(tmp_path):
    with pytest.raises(LexiconError, match=r"missing lexicon for language 'fr'"):
        Screener(write_lexicon(tmp_path, "condition\tflu\n"), languages=("en", "fr"))


def test_pattern_syntax(tmp_path):
    lexicon = "\n".join([
        "condition\tdiabet\\w*",
        "medication\tanti ?biotics?",                  # an optional separator: space then "?"
        "condition\t(?:high|raised) cholesterol",      # a leading group is expanded into the trie
        "condition\t(?:rheumatoid )?arthritis",
        "reproductive_health\tENCEINTE",                          # capitals and accents fold like the text
        "disability\tsourd(?:e|s|es)?",
        "condition\tвагітн\\w*",
        "allow\tpregnancy (?:and childbirth )?cover",
        "reproductive_health\tpregnan\\w*",
    ])
    s = Screener(write_lexicon(tmp_path, lexicon), languages=("en",))
    found = lambda text: [h.term for h in s.screen(text)]  # noqa: E731
    assert found("Diabetic; DIABETES") == ["Diabetic", "DIABETES"]
    assert found("antibiotics, anti-biotics, anti biotic") == ["antibiotics", "anti-biotics", "anti biotic"]
    assert found("high cholesterol and raised  cholesterol") == ["high cholesterol", "raised  cholesterol"]
    assert found("arthritis, rheumatoid arthritis") == ["arthritis", "rheumatoid arthritis"]
    assert found("enceinte, Enceinte") == ["enceinte", "Enceinte"]
    assert found("sourde, sourdine") == ["sourde"]          # whole words only
    assert found("вагiтна") == ["вагiтна"]                  # Cyrillic і in a pattern accepts a Latin i
    assert found("pregnancy cover, pregnancy and childbirth cover") == []
    assert found("cover for her pregnancy") == ["pregnancy"]


def test_category_names_do_not_repeat_the_words_they_stand_for():
    # the portal audits a refusal with its categories and checks that no word of the refused text is kept
    hits = screen("Moving to Lisbon; my wife is pregnant and I take insulin for diabetes")
    categories = " ".join(sorted({h.category for h in hits}))
    assert "pregnan" not in categories and "insulin" not in categories and "diabet" not in categories


def test_explain_names_the_lexicon_line():
    ((hit, where),) = health_data.default_screener().explain("He takes insulin")
    assert hit.term == "insulin" and where.startswith("en.txt:") and "insulin" in where


# --------------------------------------------------------------------------- disguises and the three verdicts


@pytest.mark.parametrize("text, term, how", [
    ("son has d i a b e t e s", "d i a b e t e s", "disguised"),                 # spread out with spaces
    ("c.a.n.c.e.r survivor", "c.a.n.c.e.r", "disguised"),                       # spread out with punctuation
    ("daughter has a5thma", "a5thma", "disguised"),                             # digits for letters
    ("wife is pr3gn@nt", "pr3gn@nt", "disguised"),                              # digits and symbols
    ("he has c\u0430ncer", "c\u0430ncer", "disguised"),                         # a Cyrillic "а" in a Latin word
    ("у отца p@к", "p@к", "disguised"),                                         # Latin and symbol in a Cyrillic word
    ("zhena beremenna", "beremenna", "transliterated"),                         # Russian in Latin letters
    ("muzh perenes insult", "insult", "transliterated"),
    ("syn maie diabet", "diabet", "plain"),                                     # the English lexicon knows the stem
    ("T2D since 2019", "T2D", "abbreviation"),
    ("Husband: CKD", "CKD", "abbreviation"),
    ("mother has alzhiemers", "alzhiemers", "approximate"),                    # a misspelling
])
def test_disguised_terms_are_found_where_they_were_written(text, term, how):
    hits = screen(text)
    assert [(h.term, h.how) for h in hits] == [(term, how)], health_data.default_screener().explain(text)
    assert all(text[h.start:h.end] == h.term for h in hits)


@pytest.mark.parametrize("text, verdict", [
    ("Family of four moving to Lisbon", health_data.Verdict.clean),
    ("He had cancer surgery last year", health_data.Verdict.health_data),
    ("wife is pr3gnant", health_data.Verdict.health_data),                     # a disguise is no doubt
    ("Dad is fighting the big C", health_data.Verdict.unsure),                  # a euphemism
    ("she is expecting, due in June", health_data.Verdict.unsure),
    ("mother has alzhiemers", health_data.Verdict.unsure),                      # only an approximate match
])
def test_the_screen_is_clean_certain_or_unsure(text, verdict):
    assert health_data.assess(text).verdict is verdict


@pytest.mark.parametrize("text", [
    "Ms Smith is moving to Cancún", "Moving to RAK (Ras Al Khaimah) in May", "Please cancel the earlier referral",
    "Airline strike delayed the move", "Le document fourni est invalide", "Family of four, retiring to Portugal",
    "Small business team of 6 at Acme GmbH", "Expecting the work permit in March", "He works in operations",
    "Student at 4 different schools", "Budget 4000 EUR, 2 adults, 3 kids", "Deadline is 15/03, call back@noon",
])
def test_benign_notes_pass_the_disguise_readings(text):
    assert screen(text) == [], health_data.default_screener().explain(text)


def test_short_abbreviations_count_only_in_capitals():
    assert [h.term for h in screen("MS since 2018")] == ["MS"]
    assert screen("ms Jones, 3 ms delay") == []


# --------------------------------------------------------------------------- recall by rule (classes of misses)


@pytest.mark.parametrize("text, term", [
    ("Son started Elvanse in the autumn", "Elvanse"),                          # ADHD, a brand
    ("Partner is on tenofovir and emtricitabine", "tenofovir"),                # HIV, an INN
    ("Il marito prende la paroxetina da anni", "paroxetina"),                  # antidepressant, Italian ending
    ("Su madre se inyecta etanercept cada semana", "etanercept"),              # arthritis biologic
    ("Le père commence les séances de radiothérapie", "radiothérapie"),
    ("Vater bekommt Bevacizumab", "Bevacizumab"),                              # chemotherapy
    ("Мать колет инсулин и пьёт гликлазид", "гликлазид"),
    ("Отец лечится бупропионом", "бупропионом"),                               # instrumental case
    ("Дружина приймає кветіапін на ніч", "кветіапін"),
    ("Тато тричі на тиждень на гемодіалізі", "гемодіалізі"),                  # locative case
])
def test_medicines_that_imply_a_condition_are_refused_in_every_language(text, term):
    assert any(term in h.term for h in screen(text) if h.category in ("medication", "treatment")), \
        health_data.default_screener().explain(text)


@pytest.mark.parametrize("text", [
    "Grandad keeps ending up in hospital since the spring",
    "Ma tante passe son temps à l'hôpital",
    "Lo zio entra ed esce dall'ospedale",
    "El abuelo va de hospital en hospital",
    "Die Oma ist ständig in der Klinik",
    "Свекровь постоянно лежит по больницам",
    "Тесть не вилазить з лікарень",
])
def test_repeated_hospital_stays_are_refused_as_unsure(text):
    assert health_data.assess(text).verdict is health_data.Verdict.unsure, health_data.default_screener().explain(text)


@pytest.mark.parametrize("text, term", [
    ("la hija está embarazad@", "embarazad@"),        # the last letter
    ("daughter has |upus", "|upus"),                  # the first letter
    ("son takes !nsulin", "!nsulin"),
])
def test_symbols_stand_for_first_and_last_letters(text, term):
    assert [(h.term, h.how) for h in screen(text)] == [(term, "disguised")]


def test_a_final_exclamation_mark_is_punctuation():
    assert [h.term for h in screen("She has c@ncer!")] == ["c@ncer"]


@pytest.mark.parametrize("text, term", [
    ("Wife is pregnent, due in May", "pregnent"),        # an unstressed English vowel
    ("Lleva meses hospitalisado", "hospitalisado"),      # s for z
    ("У сына шизафрения", "шизафрения"),                 # о written а (akanye)
    ("У отца диабед", "диабед"),                         # a final consonant written as heard
])
def test_misspellings_that_keep_the_sound_are_unsure(text, term):
    hits = screen(text)
    assert [(h.term, h.how) for h in hits] == [(term, "approximate")], health_data.default_screener().explain(text)
    assert health_data.assess(text).verdict is health_data.Verdict.unsure


@pytest.mark.parametrize("text", [
    "Please cancel the policy and confirm", "Moving to Cancún next month", "Nurse job in Dubai hospital",
    "Health insurance for a concert pianist", "The client wants to demonstrate his income",
    "Vuole allargare la copertura alla moglie", "Протест по поводу тарифа", "Простота оформления важна",
    "Le lezioni di italiano iniziano a marzo", "Interference on the phone line, please call back",
    "Start date 12 SEP 2027", "SEP 2027 start, family of four", "Fichier encodé: закодированный файл",
])
def test_sound_alike_and_abbreviation_rules_keep_benign_notes_clean(text):
    assert screen(text) == [], health_data.default_screener().explain(text)


@pytest.mark.parametrize("text, term", [
    ("Mi padre tiene EM desde 2015", "EM"),
    ("Mon frère a une SEP", "SEP"),
    ("La zia ha la S.L.A.", "S.L.A"),
    ("Мой брат закодировался в марте", "закодировался"),
    ("Чоловік закодувався минулого року", "закодувався"),
])
def test_local_abbreviations_and_addiction_treatment_are_refused(text, term):
    assert term in [h.term for h in screen(text)], health_data.default_screener().explain(text)

"""Health-data screening benchmark: how many lead need descriptions per second `compliance.health_data.screen()`
handles, and how well it separates medical from clean descriptions in each language.

This is a benchmark, not a test: it measures and reports, and exits 0 whatever the figures. It exits non-zero only
when something went wrong (a lexicon did not load, a corpus file is missing or malformed). The pass/fail checks
on precision and recall live in `tests/compliance/test_health_data.py`.

One run, in this process:

  * compiles the six lexicons (`compliance/health_terms/*.txt`) and reports the time of that first use;
  * builds --count need descriptions (default 50,000): every sentence of the corpora
    (`tests/compliance/health_corpus/<lang>.tsv`, labelled medical/clean) repeated to make up about a fifth of
    the set, and the rest generated clean descriptions in en, fr, it, es, ru and uk from templates (families,
    cities, dates, budgets, insurers, and the ordinary insurance vocabulary the screen must let through:
    "health insurance", "maternity cover", "tax treatment", "operations manager", ...). The set is shuffled with
    --seed so that every run screens the same texts in the same order;
  * screens the whole set --rounds times (default 5, after one untimed warm-up pass) and reports the median
    throughput in need descriptions per second, PASS/MISS against the target of 10,000 per second;
  * reports per-language precision and recall on the corpora, and the share of generated clean descriptions that
    were refused (each of them is clean by construction, so every refusal is a false positive).

    .venv/bin/python -m bench.health_screen [--count 50000] [--rounds 5] [--seed 7] [--json PATH] [--quick]
"""
from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time

from bench.common import ROOT, apply_quick, quick_option, run, verdict as pass_or_miss, write_json
from compliance import health_data

TARGET_PER_SECOND = 10_000
TARGET_TEXT = "target: >= 10,000 need descriptions per second"
CORPUS_DIR = ROOT / "tests" / "compliance" / "health_corpus"
CORPUS_SHARE = 0.2

# --------------------------------------------------------------------------- generated clean descriptions

CITIES = ["Lisbon", "Dubai", "Singapore", "Geneva", "Madrid", "Rome", "Berlin", "Bangkok", "Nairobi", "Doha",
          "Hong Kong", "Mexico City", "Vienna", "Warsaw", "Tokyo", "Montreal", "Abu Dhabi", "Porto", "Riga"]
INSURERS = ["Allianz", "Bupa Global", "AXA", "Cigna", "April International", "Generali", "Sanitas"]
MONTHS = {
    "en": ["January", "March", "May", "June", "September", "November"],
    "fr": ["janvier", "mars", "mai", "juin", "septembre", "novembre"],
    "it": ["gennaio", "marzo", "maggio", "giugno", "settembre", "novembre"],
    "es": ["enero", "marzo", "mayo", "junio", "septiembre", "noviembre"],
    "ru": ["январе", "марте", "мае", "июне", "сентябре", "ноябре"],
    "uk": ["січні", "березні", "травні", "червні", "вересні", "листопаді"],
}
TEMPLATES = {
    "en": [
        "Family of {n} moving to {city} in {month}, needs international health cover",
        "Couple relocating to {city}, looking for health insurance with dental and optical options",
        "Operations manager moving to {city}; wants medical cover for the whole family, budget {budget} EUR",
        "Needs hospital cover only from 1 {month}, currently insured with {insurer}",
        "Young couple in {city}, would like maternity cover for the future",
        "Is an annual check-up included? The client is comparing {insurer} and {insurer2}",
        "Surgeon relocating to {city} with {n} children, wants the doctor network there",
        "Needs a family doctor appointment for the visa; expecting to move in {month}",
        "Please send the terms and conditions and advice on the tax treatment of premiums",
        "Group health plan for {n}0 employees in {city}, start in {month}",
    ],
    "fr": [
        "Famille de {n} personnes qui s'installe à {city} en {month}, cherche une assurance santé internationale",
        "Couple qui part à {city}, veut les options dentaire et optique, budget {budget} €",
        "Directeur des opérations muté à {city}, souhaite une couverture médicale pour la famille",
        "Uniquement l'hospitalisation à partir de {month}, actuellement assuré chez {insurer}",
        "Jeune couple, aimerait une garantie maternité pour plus tard",
        "Un bilan de santé annuel est-il inclus ? Compare {insurer} et {insurer2}",
        "Chirurgien qui part à {city} avec {n} enfants, veut connaître le réseau de médecins",
        "Conditions générales et traitement fiscal des cotisations, départ prévu en {month}",
    ],
    "it": [
        "Famiglia di {n} persone che si trasferisce a {city} a {month}, cerca un'assicurazione sanitaria",
        "Coppia che va a {city}, interessata alle opzioni dentistiche, budget {budget} euro",
        "Responsabile operativo trasferito a {city}, vuole una copertura medica per la famiglia",
        "Solo ricoveri ospedalieri da {month}, attualmente assicurato con {insurer}",
        "Giovane coppia, vorrebbe una copertura maternità per il futuro",
        "Il check-up annuale è incluso? Confronta {insurer} e {insurer2}",
        "Chirurgo che si trasferisce a {city} con {n} figli, chiede della rete di medici",
    ],
    "es": [
        "Familia de {n} que se muda a {city} en {month}, busca un seguro de salud internacional",
        "Pareja que se traslada a {city}, quiere las opciones dental y óptica, presupuesto {budget} €",
        "Director de operaciones trasladado a {city}, quiere cobertura médica para la familia",
        "Solo hospitalización desde {month}, ahora asegurado con {insurer}",
        "Pareja joven, le gustaría cobertura de maternidad para el futuro",
        "¿Incluye el plan un chequeo anual? Compara {insurer} y {insurer2}",
        "Cirujano que se traslada a {city} con {n} hijos, pregunta por el cuadro médico",
    ],
    "ru": [
        "Семья из {n} человек переезжает в {city} в {month}, нужна международная медицинская страховка",
        "Пара переезжает в {city}, интересуют стоматология и оптика, бюджет {budget} евро",
        "Операционный директор переезжает в {city}, нужно медицинское покрытие для семьи",
        "Нужна только госпитализация с {month}, сейчас застрахованы в {insurer}",
        "Молодая пара, хотели бы покрытие по беременности и родам на будущее",
        "Входит ли в план ежегодный медосмотр? Сравнивают {insurer} и {insurer2}",
        "Хирург переезжает в {city} с {n} детьми, спрашивает о сети врачей",
    ],
    "uk": [
        "Сім'я з {n} осіб переїжджає до {city} у {month}, потрібне міжнародне медичне страхування",
        "Пара переїжджає до {city}, цікавлять стоматологія та оптика, бюджет {budget} євро",
        "Операційний директор переїжджає до {city}, потрібне медичне покриття для родини",
        "Потрібна лише госпіталізація з {month}, зараз застраховані в {insurer}",
        "Молода пара, хотіли б покриття вагітності та пологів на майбутнє",
        "Чи входить у план щорічний медогляд? Порівнюють {insurer} і {insurer2}",
        "Хірург переїжджає до {city} з {n} дітьми, питає про мережу лікарів",
    ],
}


def generated_clean(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` (language, text) clean need descriptions made from the templates."""
    out = []
    languages = list(TEMPLATES)
    for i in range(count):
        language = languages[i % len(languages)]
        insurer, insurer2 = rng.sample(INSURERS, 2)
        text = rng.choice(TEMPLATES[language]).format(
            n=rng.randint(2, 6), city=rng.choice(CITIES), month=rng.choice(MONTHS[language]),
            budget=rng.randrange(3000, 20000, 500), insurer=insurer, insurer2=insurer2)
        out.append((language, text))
    return out


def load_corpora() -> dict[str, list[tuple[str, str]]]:
    corpora = {}
    for language in health_data.LANGUAGES:
        rows = []
        path = CORPUS_DIR / f"{language}.tsv"
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            label, sep, text = line.partition("\t")
            if not sep or label not in ("medical", "evasion", "clean"):
                raise SystemExit(f"{path}:{lineno}: malformed corpus line {line!r}")
            rows.append((label, text))
        corpora[language] = rows
    return corpora


# --------------------------------------------------------------------------- measurements


def load_heldout(name: str = "heldout.tsv") -> dict[str, list[tuple[str, str]]]:
    """A held-out set, never tuned on, by language: heldout.tsv (written by the lexicon's author before the
    evasion work) or independent.tsv (written by someone who never saw the screen's code or lexicons)."""
    out: dict[str, list[tuple[str, str]]] = {}
    path = CORPUS_DIR / name
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1] not in ("evasion", "clean"):
            raise SystemExit(f"{path}:{lineno}: malformed held-out line {line!r}")
        out.setdefault(parts[0], []).append((parts[1], parts[2]))
    return out


def quality(corpora: dict[str, list[tuple[str, str]]]) -> dict[str, dict]:
    """Per language: precision and recall over all texts to refuse, and recall per label (medical, evasion),
    the share of clean texts refused, and how many refusals were "unsure" rather than certain."""
    figures = {}
    for language, rows in corpora.items():
        tp = fp = fn = tn = unsure = 0
        by_label: dict[str, list[int]] = {}
        missed, wrongly = [], []
        for label, text in rows:
            verdict = health_data.assess(text).verdict
            refused = verdict is not health_data.Verdict.clean
            unsure += verdict is health_data.Verdict.unsure
            by_label.setdefault(label, [0, 0])
            by_label[label][0] += refused
            by_label[label][1] += 1
            if label != "clean":
                tp, fn = tp + refused, fn + (not refused)
                if not refused:
                    missed.append(text)
            else:
                fp, tn = fp + refused, tn + (not refused)
                if refused:
                    wrongly.append(text)
        figures[language] = {"precision": tp / (tp + fp) if tp + fp else 0.0,
                             "recall": tp / (tp + fn) if tp + fn else 0.0,
                             "tp": tp, "fp": fp, "fn": fn, "tn": tn, "unsure": unsure,
                             "refused_by_label": {k: f"{v[0]}/{v[1]}" for k, v in by_label.items()},
                             "missed": missed, "wrongly_refused": wrongly}
    return figures


def print_quality(title: str, figures: dict[str, dict]) -> None:
    print(title)
    print(f"{'language':<9} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'unsure':>6}   "
          f"refused per label")
    for language, f in figures.items():
        labels = ", ".join(f"{k} {v}" for k, v in f["refused_by_label"].items())
        print(f"{language:<9} {f['precision']:>9.3f} {f['recall']:>7.3f} {f['tp']:>4} {f['fp']:>4} {f['fn']:>4} "
              f"{f['tn']:>4} {f['unsure']:>6}   {labels}")
    for language, f in figures.items():
        for text in f["missed"]:
            print(f"  {language} missed: {text}")
        for text in f["wrongly_refused"]:
            print(f"  {language} wrongly refused: {text}")
    print()


def throughput(texts: list[str], rounds: int) -> list[float]:
    screen = health_data.screen
    for text in texts:                       # warm-up: fold-table cache, regex caches
        screen(text)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for text in texts:
            screen(text)
        rates.append(len(texts) / (time.perf_counter() - t0))
    return rates


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=50_000, help="need descriptions screened per round (50000)")
    p.add_argument("--rounds", type=int, default=5, help="timed passes over the set (5)")
    p.add_argument("--seed", type=int, default=7, help="seed for generating and shuffling the set (7)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    quick_option(p, count=5_000, rounds=2)
    args = apply_quick(p, p.parse_args(argv))
    if args.count < 1 or args.rounds < 1:
        p.error("--count and --rounds must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    try:
        screener = health_data.default_screener()
    except health_data.LexiconError as exc:
        print(f"error: the lexicons did not load: {exc}", file=sys.stderr)
        return 1
    compile_s = time.perf_counter() - t0

    corpora = load_corpora()
    corpus_texts = [text for rows in corpora.values() for _, text in rows]
    n_corpus = min(args.count, max(len(corpus_texts), round(args.count * CORPUS_SHARE)))
    repeated = [corpus_texts[i % len(corpus_texts)] for i in range(n_corpus)]
    generated = generated_clean(rng, args.count - n_corpus)
    texts = repeated + [text for _, text in generated]
    rng.shuffle(texts)

    rates = throughput(texts, args.rounds)
    median_rate = statistics.median(rates)
    verdict = pass_or_miss(median_rate >= TARGET_PER_SECOND)
    per_language = quality(corpora)
    refused_generated = sum(1 for _, text in generated if health_data.screen(text))
    refused_examples = [text for _, text in generated if health_data.screen(text)][:5]

    print(f"Health-data screening benchmark — Python {platform.python_version()}, {platform.machine()}")
    print(f"lexicons: {screener.size} entries, {screener.allow_size} allow patterns, compiled in {compile_s:.2f} s")
    print(f"set: {len(texts)} need descriptions ({n_corpus} from the corpora, {len(generated)} generated clean), "
          f"{args.rounds} rounds")
    print()
    print(f"throughput: {median_rate:,.0f} need descriptions/s (median; min {min(rates):,.0f}, "
          f"max {max(rates):,.0f})   {TARGET_TEXT}   {verdict}")
    print(f"per description: {1e6 / median_rate:.1f} µs")
    print()
    print_quality("tuning corpus (tests/compliance/health_corpus/<lang>.tsv: medical, evasion, clean)", per_language)
    heldout = quality(load_heldout())
    print_quality("held-out set (heldout.tsv: written before the evasion work, never tuned on)", heldout)
    independent = quality(load_heldout("independent.tsv"))
    print_quality("independent set (independent.tsv: written by someone who never saw the code or lexicons)",
                  independent)
    share = refused_generated / len(generated) if generated else 0.0
    print(f"generated clean descriptions refused: {refused_generated} of {len(generated)} ({share:.2%})")
    for text in refused_examples:
        print(f"  refused: {text}  <- {[(h.term, h.category) for h in health_data.screen(text)]}")

    if args.json:
        result = {
            "benchmark": "health_screen", "python": platform.python_version(), "machine": platform.machine(),
            "lexicon_entries": screener.size, "allow_patterns": screener.allow_size, "compile_s": compile_s,
            "count": len(texts), "from_corpora": n_corpus, "generated_clean": len(generated),
            "rounds": args.rounds, "seed": args.seed,
            "per_second": {"median": median_rate, "min": min(rates), "max": max(rates), "rounds": rates},
            "target_per_second": TARGET_PER_SECOND, "verdict": verdict,
            "per_language": per_language, "heldout": heldout, "independent": independent,
            "generated_clean_refused": refused_generated,
        }
        print()
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    run(main, "bench.health_screen")

"""What shape of answer an instruction expects, so that checks judge an answer by its task.

A label is a right answer to "classify this", a name to "suggest a name", a template with
`[Company Name]` to "write a cover-letter template"; a one-line reply to "write an essay" is
not. The shape comes from a hint when the record carries one (the seed's `answer` field, or
Self-Instruct's `is_classification`, in `metadata.answer`), else from the instruction:

    label     classify, choose, extract, rate, yes/no, true/false, a single word or option
    short     a name, a title, a translation, a list, a calculation, a one-sentence request
    code      write or fix a function, program, query, script
    document  a letter, email, template, form, contract clause, resume, post: placeholders
              for names and dates the user did not give are what a good answer holds
    long      explain, describe, compare, an essay, a story, a plan, a guide
    any       none of the above

The cues are what the task asks for, not topics: "how do you say 'thank you' in French" asks
for a translation although "how do" usually opens an explanation, and a star rating of a
review is a label although "review" usually asks for one. So the asks that fix a short answer
(translate, rate or score, say in a word, name, list, extract) are tried before the long-form
cues, in English and in the other languages we detect (Chinese, Japanese, French, German,
Spanish): `_ASKS_SHORT` and `_ASKS_LABEL` below, one pattern per ask, every language in it.

Checks use it as follows: a too-short answer is judged against the shape (one word answers a
label task); placeholders are allowed in documents; repetition is judged only on long text.
`bench/quality.py` reports each rule's false positives on the hand-labelled dev set.
"""

from __future__ import annotations

import re

import numpy as np

from datagen.regex import Column, Pattern

SHAPES = ("label", "short", "code", "document", "long", "any")
HINTS = {"label": "label", "classification": "label", "short": "short", "long": "long",
         "code": "code", "document": "document"}

_BRIEF = Pattern(
    r"\b(?:(?:signature|subject|tag) line|subject for|title for|headline for|one-liner|"
    r"in (?:one|a single|1|two|2|three|3|a few|\d{1,2}) (?:words?|sentences?|lines?)"
    r"|one[- ]word|single word|one sentence|briefly|short answer|in short|yes or no"
    r"|true or false|under \d+ words|at most \d+ words|no more than \d+ words)\b")
_LABEL = Pattern(
    r"\b(?:classify|classification|categori[sz]e|which (?:of the following|one|category|"
    r"option|word|type|kind)|is (?:this|the following|it|that) (?:a|an|sentence|statement|"
    r"text|review|tweet|email)?\b|true or false|yes or no|label|tag (?:the|each)|choose|"
    r"select (?:the|one)|pick (?:the|one)|identify (?:the|whether|if|which)|determine "
    r"(?:whether|if|the)|detect|sentiment|spam|extract|find the|part of speech|fill in the "
    r"blank|what (?:is|was|are) the (?:name|capital|answer|result|sum|product|value|main|"
    r"subject|verb|tense)|odd one out|rate (?:the|this)|is the following)\b")
_CODE = Pattern(
    r"\b(?:write|implement|create|generate|complete (?:the|this|my|following)|fix|debug|"
    r"refactor|optimi[sz]e|translate|convert)\b.{0,60}\b(?:function|program|script|code|class|"
    r"method|query|regex|regular expression|sql|python|javascript|typescript|java|c\+\+|c#|"
    r"golang|rust|bash|shell|html|"
    r"css|algorithm|snippet|api|endpoint|unit tests?|tests|framework|bot|plugin|extension|"
    r"module|package|cypress|docker|react|django|flask|node\.?js|powershell|gdscript|luau?|"
    r"swift|kotlin|php|ruby|scala|matlab)\b|```")
# "code" that is law or a rule, not software: "the tax code", "a code of conduct"
_NOT_SOFTWARE = Pattern(
    r"\b(?:tax|civil|penal|criminal|building|dress|zip|postal|promo|discount|country|area|"
    r"legal|commercial|labou?r|ethics|ethical|honou?r|moral|bar|morse|qr|uniform commercial)"
    r" codes?\b|\bcodes? of\b"
    r"|\b(?:excel|spreadsheets?|google sheets|libreoffice calc)\b(?: \w+){0,3}? "
    r"(?:functions?|formulas?)\b"
    r"|\bscripts? (?:for|of) (?:an? |the |my |our )?(?:\w+ )?(?:video|film|movie|play|podcast|"
    r"commercial|ad|advert|scene|show|episode|skit|presentation|speech)s?\b"
    r"|\b(?:video|film|movie|podcast|youtube|tv|radio|commercial) scripts?\b")
_DOCUMENT_NOUN = Pattern(  # these words alone say a document is asked for
    r"\b(?:templates?|questionnaires?|surveys?|cover letters?|letters? of (?:recommendation|"
    r"intent|reference|resignation)|press releases?)\b")
_DOCUMENT = Pattern(
    r"\b(?:templates?|forms?|fill[- ]in|placeholders?|boilerplate|letters?|e-?mails?|memo|"
    r"invitations?|notices?|announcements?|resume|cv|bio|biography|profile|press release|"
    r"agreements?|contracts?|clauses?|polic(?:y|ies)|terms|proposals?|speech|toast|"
    r"advertisements?|ads?|posts?|newsletters?|job (?:description|posting|ad)|offer|"
    r"certificates?|cards?|messages?|scripts?|summary for linkedin|linkedin|cover)\b")
_WRITE = Pattern(r"\b(?:write|draft|create|compose|prepare|generate|make|design|produce|"
                    r"give me|provide|come up with|put together)\b")
_LONG = Pattern(
    r"\b(?:explain|describe|discuss|compare|contrast|analy[sz]e|assess|essay|story|stories|"
    r"article|blog|report|summari[sz]e|summary|outline|plan|guide|tutorial|steps|step-by-step|"
    r"how (?:do|does|can|to|should|would)|why|elaborate|argue|review|critique|poem|lyrics|"
    r"dialogue|conversation|itinerary|recipe|lesson|overview|advice|tips|pros and cons|"
    r"in detail|detailed|paragraph)\b")
_SHORT = Pattern(
    r"\b(?:name|title|suggest|recommend|translate|rephrase|rewrite|paraphrase|correct|"
    r"proofread|synonyms?|antonyms?|abbreviation|acronym|convert|calculate|compute|solve|"
    r"how many|how much|when (?:did|was|is)|who (?:is|was|wrote|invented)|where (?:is|was)|"
    r"what year|emoji|hashtags?|slogan|tagline|headline|caption|define|"
    r"definition|list|give (?:me )?(?:an? )?example|spell|guess|riddle|joke)\b")


# a translation is asked for (CJK words have no word boundaries, so these carry none)
TRANSLATE = Pattern(r"translat|traduis|traduc|traduz|übersetz|翻译|翻譯|訳|번역", re.IGNORECASE)


# lyrics or a poem are asked for: their answers repeat lines by design (a chorus, a refrain)
LYRICS = Pattern(
    r"\b(?:songs?|lyrics?|chorus|refrains?|raps?|anthems?|jingles?|chants?|hymns?|poems?|"
    r"poetry|verses?|ballads?|villanelles?|nursery rhymes?|chansons?|poèmes?|lieder|lied|"
    r"gedichte?|canciones?|canción|poemas?)\b|歌詞|诗歌|詩|歌曲|作词|作詞")


# Asks in other languages: CJK words have no word boundaries, so these carry none.
_ASKS_LABEL = Pattern(
    r"\b(?:rate|rating|score|grade)\b.{0,80}\b(?:out of|on a scale|from \d+ to \d+|stars?|"
    r"\d+ ?- ?\d+|\d+/\d+)\b|\b(?:star rating|sentiment|yes or no|true or false)\b"
    r"|\b(?:classe[rz]?|classifie[rz]?|cat[ée]gorise[rz]?|oui ou non|vrai ou faux"
    r"|note[rz]? (?:sur|de)"
    r"|klassifizier\w*|kategorisier\w*|bewerte\w*|ja oder nein|wahr oder falsch"
    r"|clasifica\w*|categoriza\w*|califica\w*|puntúa\w*|sí o no|verdadero o falso)\b"
    r"|分类|分類|归类|歸類|情感|情绪|极性|判断|評価|评分|打分|是否|はい.{0,4}いいえ|感情")
_ASKS_SHORT = Pattern(
    r"\b(?:translate|translation|how (?:do|would|can) (?:you|i) say|what is the \w+ (?:word|term)"
    r"|(?:say|write) (?:it|this|that)? ?in (?:english|french|german|spanish|italian|portuguese|"
    r"chinese|japanese|korean|russian|arabic|dutch)|in (?:one|a single|1) word|one[- ]word"
    r"|list (?:the|all|some|a few|\d+|of)|(?:give|make|create|write) (?:me )?a list"
    r"|name (?:the|a|an|one|two|three|\d+|some)|extract|which (?:\w+ )?(?:functions?|formulas?)"
    r"|tradui[st]\w*|traduction|en un mot|un seul mot|liste[rz]? |nomme[rz]?|extrai[st]\w*"
    r"|übersetz\w*|in einem wort|nenne\w*|liste (?:die|der|alle)|extrahier\w*"
    r"|traduc\w*|traduz\w*|en una palabra|enumera\w*|nombra\w*|extrae\w*)\b"
    r"|翻译|翻譯|訳して|訳す|英訳|和訳|用(?:英语|英文|中文|日语|法语)|一个词|一個詞|一词|一語|一言で"
    r"|列出|列举|列舉|提取|抽出|挙げ|命名|名字|名前")


# a code task in another language: a programming language or code word, and a verb that makes
# (no \b around ASCII words: "HTMLで" has no word boundary between "l" and "で")
_CODE_WORD = Pattern(r"(?:^|[^a-z0-9])(?:python|javascript|typescript|java|c\+\+|c#|html|css|sql|"
                     r"bash|rust|golang|php|ruby|kotlin|swift|regex)|函数|関数|プログラム|程序|代码|コード"
                     r"|\b(?:fonction|programme|funktion|programm|función|programa)\b")
_CODE_VERB = Pattern(r"作成|書いて|書け|実装|開発|编写|写一个|写出|实现|编程|"
                     r"\b(?:écri\w*|implément\w*|schreib\w*|implementier\w*|erstell\w*|"
                     r"escrib\w*|implementa\w*|crea\w*)\b")


def expected_shape(instruction: str, hint: str | None = None) -> str:
    """The shape one instruction expects (`any` when nothing says)."""
    return expected_shapes([instruction], [hint])[0]


SHAPES_AT_ONCE = 50_000  # instructions searched at a time: the searches copy every text


def expected_shapes(instructions: list[str], hints: list[str | None]) -> list[str]:
    """Per instruction, the first shape whose rule holds (in the order the module docstring
    lists them; a hint decides alone), each rule one column search (`datagen.regex`). The
    names returned are shared objects: a million of them cost a pointer each."""
    out: list[str] = []
    for lo in range(0, len(instructions), SHAPES_AT_ONCE):
        out += _shapes(instructions[lo:lo + SHAPES_AT_ONCE], hints[lo:lo + SHAPES_AT_ONCE])
    return out


def _shapes(instructions: list[str], hints: list[str | None]) -> list[str]:
    heads = Column([(t or "").lower().split("\n\ninput:", 1)[0][:600]  # the task, not its input
                    for t in instructions])
    brief, label = _BRIEF.mask(heads), _LABEL.mask(heads)
    software = _NOT_SOFTWARE.sub(" ", heads)
    code = _CODE.mask(software) | (_CODE_WORD.mask(software) & _CODE_VERB.mask(software))
    document = _DOCUMENT_NOUN.mask(heads) | (_WRITE.mask(heads) & _DOCUMENT.mask(heads))
    shapes = np.select(
        [brief & label, brief, label, _ASKS_LABEL.mask(heads), code, _ASKS_SHORT.mask(heads),
         document, _LONG.mask(heads), _SHORT.mask(heads)],
        ["label", "short", "label", "label", "code", "short", "document", "long", "short"],
        default="any")
    names = {name: name for name in (*HINTS.values(), "any")}
    return [HINTS[str(h).lower()] if h and str(h).lower() in HINTS
            else names.setdefault(shape, shape) for shape, h in zip(shapes.tolist(), hints,
                                                                  strict=True)]

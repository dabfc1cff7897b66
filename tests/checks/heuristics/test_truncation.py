"""`truncation`: an answer cut off by the token limit is dropped."""

from __future__ import annotations

from tests.curate.helpers import reason_of


def test_cut_off_answers_are_dropped_and_finished_ones_kept() -> None:
    assert reason_of(finish_reason="length") == "truncated"
    assert reason_of(finish_reason="stop") is None
    assert reason_of(finish_reason=None) is None  # unknown (imported data): not judged


def test_an_answer_that_stops_where_its_content_should_begin_is_cut() -> None:
    ins = "Make a list of the most popular podcasts."
    assert reason_of(instruction=ins, response="The most popular podcasts are:") == "truncated"
    assert reason_of(instruction=ins, response="Serial, The Daily, Radiolab,") == "truncated"
    assert reason_of(instruction=ins, response="Serial, The Daily and Radiolab.") is None


def test_an_open_fence_or_unclosed_json_is_cut() -> None:
    code = "Write a Python function that adds two numbers."
    fenced = "Here it is:\n\n```python\ndef add(a, b):\n    return a + b\n```"
    assert reason_of(instruction=code, response=fenced) is None
    assert reason_of(instruction=code, response=fenced[:-4]) == "truncated"
    data = "Return the parties of this agreement as JSON with their names and roles."
    whole = ('{"parties": [{"name": "Acme Ltd", "role": "the company that shares its plans"}, '
             '{"name": "Beta GmbH", "role": "the company that keeps the plans secret"}]}')
    assert reason_of(instruction=data, response=whole) is None
    assert reason_of(instruction=data, response=whole[:-3]) == "truncated"


def test_prose_that_stops_mid_sentence_is_cut() -> None:
    ins = "Explain why a confidentiality clause should name what it does not cover."
    whole = ("A confidentiality clause should say what it does not cover, because a court reads "
             "an unclear obligation against the party that wrote it, and because information "
             "that is already public, independently developed or lawfully received from others "
             "cannot fairly be kept secret by the recipient.")
    assert reason_of(instruction=ins, response=whole) is None
    assert reason_of(instruction=ins, response=whole.rsplit(" ", 4)[0]) == "truncated"
    zh = ("保密条款应当写明不涵盖的内容，因为法院会对不明确的义务作出不利于"
          "起草方的解释，而且已经公开的信息、接收方独立开发的信息或者从第三方"
          "合法获得的信息，接收方都无法也不应该承担保密义务，所以条款")
    assert reason_of(language="zh", instruction="解释保密条款为什么要写明例外情况。",
                     response=zh) == "truncated"
    assert reason_of(language="zh", instruction="解释保密条款为什么要写明例外情况。",
                     response=zh[:-4] + "义务。") is None


def test_lines_that_end_without_punctuation_by_nature_are_kept() -> None:
    ins = "List the usual exceptions to a confidentiality obligation."
    items = ("- information that is already public when it is disclosed to the recipient\n"
             "- information the recipient developed independently of the discloser's material "
             "and without using any of it, as its own records show from the time of development")
    assert reason_of(instruction=ins, response=items) is None


def test_a_translation_is_held_to_its_source() -> None:
    ins = "Translate into French: The agreement ends when both parties have signed the release."
    assert reason_of(instruction=ins, response="L'accord prend fin lorsque les deux parties "
                                               "ont signé la décharge.") is None
    assert reason_of(instruction=ins, response="L'accord prend fin lorsque les deux parties "
                                               "ont signé") == "truncated"
    # a source that is no sentence ("Translate: 'Good morning'") asks for no full stop
    assert reason_of(instruction="Translate into French: the release of both parties",
                     response="la décharge des deux parties") is None


def test_cjk_prose_that_stops_inside_a_sentence_is_cut() -> None:
    ins = "请解释光合作用的过程。"
    whole = ("光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。\n"
             "总之，光合作用为地球上几乎所有的生命提供了能量和氧气。")
    assert reason_of(instruction=ins, language="zh", response=whole) is None
    # cut after a comma: a sentence under way, though the line is short
    assert reason_of(instruction=ins, language="zh",
                     response=whole[:-12]) == "truncated"
    # a list that ends without a stop is no cut sentence
    songs = "可以听听这些歌曲：\n稻香、晴天、七里香、青花瓷、夜曲、告白气球"
    assert reason_of(instruction="推荐几首周杰伦的歌。", language="zh", response=songs) is None


def test_a_list_item_that_runs_on_like_a_paragraph_and_stops_is_cut() -> None:
    ins = "List what I need to make a lemon tart."
    items = "- 250 g shortcrust pastry\n- 4 lemons\n- 150 g caster sugar"
    assert reason_of(instruction=ins, response=items) is None  # short items end bare
    run_on = (items + "\n- 3 eggs, beaten well enough that the yolks and whites are one colour "
              "and no streaks remain when you lift the fork, which takes about a minute by hand "
              "or less with a whisk, and then set aside while the pastry case bakes blind until "
              "it is pale golden at the")
    assert reason_of(instruction=ins, response=run_on) == "truncated"


def test_a_last_list_item_that_stops_bare_among_items_that_end_sentences_is_cut() -> None:
    ins = "Explain the snake game code step by step."
    steps = ("1. We import the modules the game needs.\n"
             "2. We set the size of the board and the colours.\n"
             "3. We define a function that draws the board.")
    assert reason_of(instruction=ins, response=steps) is None
    cut = steps + "\n4. We define a function that moves the snake based on its current direction"
    assert reason_of(instruction=ins, response=cut) == "truncated"
    # items that end on a bracket end no sentence: a bare last item is the list's style
    named = ("* The Sloan Digital Sky Survey (SDSS)\n* The Black Hole Database (BHD)\n"
             "* The LIGO and Virgo collaborations")
    assert reason_of(instruction="List sources of black hole data.", response=named) is None


def test_a_last_line_that_stops_on_a_word_no_sentence_ends_on_is_cut() -> None:
    ins = "Explain what this program does when it runs."
    whole = ("The program opens a window with a picture box.\n\n"
             "When you run the program, it will generate a random set of shapes.")
    assert reason_of(instruction=ins, response=whole) is None
    assert reason_of(instruction=ins, response=whole[:-len(" shapes.")]) == "truncated"
    tours = "It tries one tour of the cities after another, and keeps the shortest.\n\n"
    assert reason_of(instruction=ins, response=tours + "The tenth tour is") == "truncated"
    # code may end on such a word, and so may a title in title case
    code = "Write a Python function that returns the first truthy value."
    assert reason_of(instruction=code, response="def first(x, a):\n    return x or a") is None
    assert reason_of(instruction="Suggest a title for a talk on onboarding.",
                     response="Onboarding: What New Hires Wish They Were Told About") is None


def test_an_answer_that_ends_inside_a_broken_character_is_cut() -> None:
    ins = "新型コロナウイルスが日本経済に与えた影響を説明してください。"
    whole = "消費が落ち込み、多くの企業が営業を止めました。政府は給付金で家計を支えました。"
    assert reason_of(language="ja", instruction=ins, response=whole) is None
    # a stream cut inside a character's bytes decodes to U+FFFD
    assert reason_of(language="ja", instruction=ins,
                     response=whole[:-12] + "政府が与える影\ufffd") == "truncated"


def test_a_stray_hash_before_a_paragraph_is_no_hashtag() -> None:
    ins = "明治維新後に日本が採用した政治制度について説明してください。"
    prose = ("政府は憲法を制定し、議会を開設しました。# #用語の説明をします。まず薩摩藩と長州藩は"
             "倒幕の中心となった藩であり、その出身者が新政府の要職を占めました。次に戊辰戦争で")
    assert reason_of(language="ja", instruction=ins, response=prose) == "truncated"
    post = "Two years at the company today, and still learning every day #NewJob #CareerGrowth"
    assert reason_of(instruction="Write a LinkedIn post about my work anniversary.",
                     response=post) is None

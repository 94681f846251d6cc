"""Game rules and rewards on hand-made boards, the text rendering, and the XSB loader."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sftlab.errors import DataError
from sftlab.tasks.sokoban import SokobanGame, load_xsb, parse_rendered, render

CORRIDOR = (
    "#######",
    "#@$ . #",
    "#######",
)


def test_push_onto_target_rewards_and_finishes():
    g = SokobanGame(CORRIDOR)
    r1 = g.step("Right")
    assert (r1.moved, r1.pushed, r1.done) == (True, True, False)
    assert r1.reward == pytest.approx(-0.1)
    assert g.rows[1] == "# @$. #"
    r2 = g.step("Right")
    assert r2.pushed and r2.done and g.solved and g.boxes_on_target == 1
    assert r2.reward == pytest.approx(-0.1 + 1.0 + 10.0)
    assert g.rows[1] == "#  @* #"
    assert g.num_steps == 2 and g.total_reward == pytest.approx(10.8)
    with pytest.raises(ValueError, match="over"):
        g.step("Left")


def test_pushing_off_a_target_costs_one():
    rows = ("#######", "#@*$ .#", "#######")
    g = SokobanGame(rows)
    r = g.step("Right")  # the box on goal hits the other box: no push, no move
    assert (r.moved, r.pushed) == (False, False) and r.reward == pytest.approx(-0.1)
    g2 = SokobanGame(("########", "#@*  $.#", "########"))
    r2 = g2.step("Right")
    assert r2.pushed and r2.reward == pytest.approx(-0.1 - 1.0)
    assert g2.boxes_on_target == 0 and g2.rows[1] == "# +$ $.#"


def test_walls_and_blocked_boxes_are_no_ops_that_still_use_a_turn():
    g = SokobanGame(("######", "#@$#.#", "######"), max_steps=3)
    r = g.step("Right")  # box against a wall
    assert not r.moved and not r.pushed and g.rows[1] == "#@$#.#"
    r = g.step("Up")  # wall
    assert not r.moved and r.reward == pytest.approx(-0.1) and not r.done
    r = g.step("Left")
    assert not r.moved and r.done and not g.solved  # max_steps reached
    assert g.num_steps == 3


def test_plain_move_and_only_base_directions_accepted():
    g = SokobanGame(("######", "#@ $.#", "######"))
    r = g.step("Right")
    assert r.moved and not r.pushed and g.rows[1] == "# @$.#"
    for bad in ("up", "UP", "1", "A", "", "North"):
        with pytest.raises(ValueError, match="Up, Down, Left, Right"):
            g.step(bad)
    assert g.num_steps == 1


def test_player_on_target_and_rows_roundtrip():
    g = SokobanGame(("#######", "#+ $  #", "#######"))
    assert g.rows == ("#######", "#+ $  #", "#######")
    g.step("Right")
    assert g.rows[1] == "#.@$  #"


def test_render_matches_the_spec_cell_format():
    assert render(("# @$.#",)) == " # \t _ \t P \t X \t O \t # \t"
    assert render(("#*+#", "####")) == " # \t √ \t S \t # \t\n # \t # \t # \t # \t"


@given(st.lists(st.text(alphabet="# .$*@+", min_size=1, max_size=8), min_size=1, max_size=8))
def test_render_parse_round_trip(rows):
    rows = tuple(rows)
    assert parse_rendered(render(rows)) == rows


def test_parse_rendered_rejects_unknown_symbols():
    with pytest.raises(DataError, match="unknown symbol"):
        parse_rendered(" # \t Q \t")


LEVELS = """; a comment
Level 1
#####
#@$.#
#####

Title: two
  ####
###  #
#@ $.#
#-$-.#
######
"""


def test_load_xsb_reads_several_levels_and_normalises_floor(tmp_path):
    levels = load_xsb(LEVELS)
    assert levels[0] == ("#####", "#@$.#", "#####")
    assert levels[1] == ("  ####", "###  #", "#@ $.#", "# $ .#", "######")
    path = tmp_path / "levels.xsb"
    path.write_text(LEVELS, encoding="utf-8")
    assert load_xsb(path) == levels
    assert load_xsb(str(path)) == levels


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("x\n#####\n#$ .#\n#####\n", "line 2: no player"),
        ("#####\n#@$ #\n#####\n", "line 1: 1 boxes but 0 goals"),
        ("\n\n#####\n#@$x.#\n#####\n", "line 4: unknown Sokoban character 'x' at column 4"),
        ("#####\n#@@$.#\n#####\n", "line 2: a second player"),
        ("#####\n#@ .#\n#####\n", "no boxes"),
        ("just a title\n", "no Sokoban level"),
    ],
)
def test_load_xsb_errors_name_the_line(text, fragment):
    with pytest.raises(DataError, match=fragment):
        load_xsb(text)


def test_load_xsb_missing_file():
    with pytest.raises(DataError, match="not found"):
        load_xsb("no/such/levels.xsb")


def test_dump_xsb_round_trips_generated_puzzles(tmp_path):
    from sftlab.tasks.sokoban import dump_xsb, generate

    puzzles = [generate(dim=(7, 9), num_boxes=2, seed=s).rows for s in range(5)]
    text = dump_xsb(puzzles, titles=[f"seed {s}" for s in range(5)])
    assert text.startswith("; seed 0\n#########\n")
    path = tmp_path / "out.xsb"
    path.write_text(text, encoding="utf-8")
    assert load_xsb(path) == puzzles
    with pytest.raises(DataError, match="no player"):
        dump_xsb([("#####", "#$ .#", "#####")])

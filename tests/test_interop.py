"""wandb-workspaces filter expressions: reading them, writing them, and the round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsquery import parse
from wsquery.ast import UI_RUN_NAMES, And, Compare, Duration, Field, In, Not, Or, Query, Within
from wsquery.compilers.wandb_workspaces.read import from_wandb_workspaces
from wsquery.compilers.wandb_workspaces.write import to_wandb_workspaces
from wsquery.errors import QuerySyntaxError, QueryValidationError, TargetError

READ_CASES = [
    ("Config('lr') == 0.1 and Metric('State') == 'finished'",
     'config.lr == 0.1 and state == "finished"'),
    ("Config('lr') = 0.1", "config.lr == 0.1"),
    ("SummaryMetric('x') <= 1", "summary.x <= 1"),
    ("Summary('val/loss') >= 1e-3", "summary.val/loss >= 0.001"),
    ("SummaryMetric('x') < 1 or SummaryMetric('x') > 2", "summary.x <= 1 or summary.x >= 2"),
    ("Metric('CreatedTimestamp') within_last 5 days", "created_at within last 5d"),
    ("Metric('CreatedTimestamp') WITHIN_LAST 1 'hour'", "created_at within last 1h"),
    ("Metric('CreatedTimestamp') within_last 2.5 minutes", "created_at within last 2.5m"),
    ("WithinLast(Metric('CreatedTimestamp'), 3, 'Days')", "created_at within last 3d"),
    ("Tags() in ['best', 'baseline']", 'tags in ["best", "baseline"]'),
    ("Tags() not in ['broken']", 'tags not in ["broken"]'),
    ("Metric('Tags') in ('a',)", 'tags in ["a"]'),
    ("Metric('Name') == 'sweep-1'", 'name == "sweep-1"'),
    ("Metric('ID') != 'abc123'", 'id != "abc123"'),
    ("Metric('Runtime') >= 3600", "runtime >= 3600"),
    ("Metric('User') == 'ada'", 'user == "ada"'),
    ("Metric('Group') == 'g' and Metric('JobType') == 'train'",
     'group == "g" and job_type == "train"'),
    ("Metric('Hostname') == 'node-1' or Metric('Sweep') == 's1'",
     'host == "node-1" or sweep == "s1"'),
    ("Metric('Step') >= 100", "step >= 100"),
    ("Metric('RelativeTime(Wall)') <= 60", "run._absolute_runtime <= 60"),
    ("Metric('displayName') == 'x'", 'name == "x"'),
    ("Metric('custom') == 1", "run.custom == 1"),
    ("Config('a.b') != -3", "config.a.b != -3"),
    ("Config('optimizer name') in ['adam', \"sgd\"]", 'config.`optimizer name` in ["adam", "sgd"]'),
    ("Config('x') not in [1, 2.5, True]", "config.x not in [1, 2.5, true]"),
    ("Config('x') == - -+4", "config.x == 4"),
    ("Config('x') == (5)", "config.x == 5"),
    ("Config('x') == 1_000", "config.x == 1000"),
    ("Config('flag') == False", "config.flag == false"),
    ("State == finished", 'state == "finished"'),
    ("Config('s') == 'it\\'s \\u00e9\\n\\x41\\101\\N{BULLET}\\d'",
     'config.s == "it\'s é\\nAA•\\\\d"'),
    ("Config('s') == r'\\d+'", 'config.s == "\\\\d+"'),
    ("(Config('a') == 1 or Config('b') == 2) and Config('c') == 3",
     "(config.a == 1 or config.b == 2) and config.c == 3"),
    ("Config('a') == 1 or Config('b') == 2 and Config('c') == 3",
     "config.a == 1 or config.b == 2 and config.c == 3"),
    ("((Config('a') == 1))", "config.a == 1"),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("text", "expected"), READ_CASES)
def test_read(text: str, expected: str) -> None:
    query = from_wandb_workspaces(text)
    assert str(query) == expected
    assert query == parse(expected)


def test_read_builds_the_tree_the_parser_builds() -> None:
    query = from_wandb_workspaces("Config('a') == 1 and Config('b') == 2 and Config('c') == 3")
    assert isinstance(query.filter, And)
    assert len(query.filter.operands) == 3
    nested = from_wandb_workspaces("(Config('a') == 1 and Config('b') == 2) and Config('c') == 3")
    assert nested == parse("(config.a == 1 and config.b == 2) and config.c == 3")


def test_read_spans_point_into_the_source() -> None:
    text = "Config('lr') == 0.1 or Metric('CreatedTimestamp') within_last 5 days"
    query = from_wandb_workspaces(text)
    assert isinstance(query.filter, Or)
    left, right = query.filter.operands
    assert isinstance(left, Compare) and isinstance(right, Within)
    assert left.span is not None and right.span is not None
    assert text[slice(*left.span)] == "Config('lr') == 0.1"
    assert text[slice(*right.span)] == "Metric('CreatedTimestamp') within_last 5 days"
    assert left.field.span is not None
    assert text[slice(*left.field.span)] == "Config('lr')"


ERROR_CASES = [
    ("Config('lr') == ",
     "line 1, column 16: expected a value, found end of input\n"
     "    Config('lr') == \n"
     "                   ^"),
    ("not Config('a') == 1",
     "line 1, column 1: expected a field such as Config('lr') or Metric('State'), found 'not'\n"
     "    not Config('a') == 1\n"
     "    ~~~\n"
     "hint: wandb-workspaces has no 'not': write '!=' or 'not in'"),
    ("Config('a') == 1 AND Config('b') == 2",
     "line 1, column 18: expected 'and', 'or' or end of input, found 'AND'\n"
     "    Config('a') == 1 AND Config('b') == 2\n"
     "                     ~~~\n"
     "hint: Python keywords are lower case: write 'and'"),
    ("Config('a') == 1 && Config('b') == 2",
     "line 1, column 18: unexpected character '&'\n"
     "    Config('a') == 1 && Config('b') == 2\n"
     "                     ^\n"
     "hint: write 'and'"),
    ("Foo('a') == 1",
     "line 1, column 1: unknown field function 'Foo'\n"
     "    Foo('a') == 1\n"
     "    ~~~\n"
     "hint: fields are Config('key'), SummaryMetric('key'), Metric('State') and Tags()"),
    ("Config('a') == None",
     "line 1, column 16: None is no value a run can be compared with\n"
     "    Config('a') == None\n"
     "                   ~~~~\n"
     "hint: wsquery writes this as 'is null' or 'is not null', which wandb-workspaces "
     "cannot say"),
    ("Config('a') ~ 1",
     "line 1, column 13: unexpected character '~'\n"
     "    Config('a') ~ 1\n"
     "                ^\n"
     "hint: wandb-workspaces filters have no regex match"),
    ("Metric('CreatedTimestamp') within_last 5 weeks",
     "line 1, column 42: expected a unit (minutes, hours or days), found 'weeks'\n"
     "    Metric('CreatedTimestamp') within_last 5 weeks\n"
     "                                             ~~~~~"),
    ("Config('a') in 'x'",
     "line 1, column 16: expected a list such as ['a', 'b'], found ''x''\n"
     "    Config('a') in 'x'\n"
     "                   ~~~"),
    ("Config('a') in ('x')",
     "line 1, column 16: 'in' needs a list\n"
     "    Config('a') in ('x')\n"
     "                   ~~~~~\n"
     "hint: a single value in parentheses is no list: write ['a']"),
    ("Config('a') == [1]",
     "line 1, column 16: '==' compares with one value, not a list\n"
     "    Config('a') == [1]\n"
     "                   ~~~\n"
     "hint: write Config('a') in [...]"),
    ("(Config('a') == 1",
     "line 1, column 18: expected ')', found end of input\n"
     "    (Config('a') == 1\n"
     "                     ^"),
    ("Config('x') == 'abc",
     "line 1, column 16: unterminated string\n"
     "    Config('x') == 'abc\n"
     "                   ~~~~\n"
     "hint: close the string with '; strings end on the line they start"),
    ("Tags('a') == True",
     "line 1, column 1: wsquery reads tags as one list\n"
     "    Tags('a') == True\n"
     "    ~~~~~~~~~\n"
     "hint: write Tags() in ['tag'] for runs that have the tag"),
    ("KeysInfo('a') == 1",
     "line 1, column 1: unknown field function 'KeysInfo'\n"
     "    KeysInfo('a') == 1\n"
     "    ~~~~~~~~\n"
     "hint: wsquery has no keys_info section"),
    ("Config('a..b') == 1",
     "line 1, column 1: 'a..b' is not a key wsquery can name\n"
     "    Config('a..b') == 1\n"
     "    ~~~~~~~~~~~~~~\n"
     "hint: keys are non-empty names separated by single dots, without backticks"),
    ("Config('a') == '\\x4'",
     "line 1, column 16: invalid string: truncated \\x escape\n"
     "    Config('a') == '\\x4'\n"
     "                   ~~~~~"),
    ("Config('a') == Config('b')",
     "line 1, column 16: a field compares with a value, not with another field\n"
     "    Config('a') == Config('b')\n"
     "                   ~~~~~~~~~~~"),
    ("Config('a') == 1e999",
     "line 1, column 16: 1e999 is out of range\n"
     "    Config('a') == 1e999\n"
     "                   ~~~~~"),
]


@pytest.mark.parametrize(("text", "message"), ERROR_CASES)
def test_read_errors(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        from_wandb_workspaces(text)
    assert str(caught.value) == message
    assert not isinstance(caught.value, QueryValidationError)


def test_read_collects_every_meaningless_comparison() -> None:
    text = "Metric('State') == 'finishd' and Tags() <= 'x'"
    with pytest.raises(QueryValidationError) as caught:
        from_wandb_workspaces(text)
    error = caught.value
    assert [p.message for p in error.problems] == [
        'state is never "finishd"', "tags is a list: '<=' cannot match it"]
    assert [text[slice(*p.span)] for p in error.problems] == [
        "Metric('State') == 'finishd'", "Tags() <= 'x'"]
    assert error.hint is not None and 'did you mean "finished"?' in error.hint


def test_tags_equal_to_a_name_has_that_tag() -> None:
    assert str(from_wandb_workspaces("Tags() == 'x' and Tags() != 'y'")) == (
        'tags == "x" and tags != "y"')


def test_read_within_last_only_on_created_at() -> None:
    with pytest.raises(QueryValidationError, match="'within last' applies to created_at only"):
        from_wandb_workspaces("Metric('Runtime') within_last 5 days")


def test_read_refuses_deep_nesting_without_recursion_error() -> None:
    text = "(" * 500 + "Config('a') == 1" + ")" * 500
    with pytest.raises(QuerySyntaxError, match="nest deeper than 100"):
        from_wandb_workspaces(text)


WRITE_CASES = [
    ('config.lr == 0.1 and state == "finished"',
     "Config('lr') == 0.1 and Metric('State') == 'finished'"),
    ('state in ["Finished", "crashed"]', "Metric('State') in ['finished', 'crashed']"),
    ("summary.`val loss` <= 0.5 or summary.acc >= 0.9",
     "SummaryMetric('val loss') <= 0.5 or SummaryMetric('acc') >= 0.9"),
    ("(config.a == 1 or config.b == 2) and (config.c == 3 and config.d != true)",
     "(Config('a') == 1 or Config('b') == 2) and (Config('c') == 3 and Config('d') != True)"),
    ("config.a == 1 or (config.b == 2 or config.c == 3)",
     "Config('a') == 1 or (Config('b') == 2 or Config('c') == 3)"),
    ('"best" in tags', "Tags() in ['best']"),
    ('tags contains "best"', "Tags() in ['best']"),
    ('"best" not in tags', "Tags() not in ['best']"),
    ('tags not in ["a", "b"]', "Tags() not in ['a', 'b']"),
    ('id not in ["x"]', "Metric('ID') not in ['x']"),
    ("runtime >= 2h", "Metric('Runtime') >= 7200"),
    ("run._runtime <= 10", "Metric('RelativeTime(Process)') <= 10"),
    ("run.custom == \"it's\"", "Metric('custom') == \"it's\""),
    ("created_at within last 5d", "Metric('CreatedTimestamp') within_last 5 days"),
    ("created_at within last 1.5h", "Metric('CreatedTimestamp') within_last 1.5 hours"),
    ("created_at within last 2w", "Metric('CreatedTimestamp') within_last 14 days"),
    ("created_at within last 90s", "Metric('CreatedTimestamp') within_last 1.5 minutes"),
    ("created_at within last 120s", "Metric('CreatedTimestamp') within_last 2 minutes"),
    ('config.note == "a<=b"', "Config('note') == 'a<=b'"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), WRITE_CASES)
def test_write(text: str, expected: str) -> None:
    assert to_wandb_workspaces(text) == expected
    assert to_wandb_workspaces(parse(text)) == expected


REFUSED = [
    ("not config.a == 1", "'not config.a == 1' cannot be written: there is no 'not'",
     "not config.a == 1"),
    ("config.a < 1", "'<' cannot be written", "config.a < 1"),
    ("config.a > 1", "'>' cannot be written", "config.a > 1"),
    ('config.a == 1 and name =~ "^s"', "a regex match ('=~') cannot be written", 'name =~ "^s"'),
    ("config.a is null", "'is null' cannot be written", "config.a is null"),
    ("config.a is not null", "'config.a is not null' cannot be written: there is no 'not'",
     "config.a is not null"),
    ('config.a contains "x"', "'contains' on config.a cannot be written",
     'config.a contains "x"'),
    ("true", "'true' as a condition cannot be written", "true"),
    ("config.a == 1 group by config.b", "'group by' has no place in a filter expression",
     "config.b"),
    ("order by config.b desc", "'order by' has no place in a filter expression",
     "config.b desc"),
    ("created_at within last 123s", "'123s' cannot be written", "created_at within last 123s"),
    ("created_at within last 0.00001m", "'1e-05m' cannot be written",
     "created_at within last 0.00001m"),
    ('config.a == "x=y"', "'x=y' would be changed by wandb-workspaces, which rewrites every "
     "'=', '<' and '>' in the text", 'config.a == "x=y"'),
    ("config.`a>b` == 1", "'a>b' would be changed by wandb-workspaces, which rewrites every "
     "'=', '<' and '>' in the text", "config.`a>b`"),
    ("run.State == 1", "run key 'State' reads back as run.state in wandb-workspaces",
     "run.State"),
]


@pytest.mark.parametrize(("text", "message", "part"), REFUSED)
def test_write_refuses_what_has_no_form(text: str, message: str, part: str) -> None:
    with pytest.raises(TargetError) as caught:
        to_wandb_workspaces(text)
    error = caught.value
    assert error.target == "wandb-workspaces"
    assert error.message == message
    assert error.span is not None
    assert text[slice(*error.span)] == part
    assert str(error).startswith("line 1, column")
    with pytest.raises(TargetError) as without_text:  # a Query alone: no caret, same message
        to_wandb_workspaces(parse(text))
    assert str(without_text.value).startswith(f"wandb-workspaces: {message}")


def test_write_refuses_unwritable_floats() -> None:
    query = Query(Compare(Field("config", ("a",)), "==", float("inf")))
    with pytest.raises(TargetError, match="inf has no literal"):
        to_wandb_workspaces(query)


# Round trip ----------------------------------------------------------------------------------

_segment = st.text(st.characters(codec="utf-8", exclude_characters=".`=<>\n"), min_size=1,
                   max_size=8)
_keys = st.lists(_segment, min_size=1, max_size=3).map(tuple)
_user_fields = st.builds(Field, st.sampled_from(["config", "summary"]), _keys)
_run_keys = st.sampled_from([*UI_RUN_NAMES.values(), "custom", "ID_copy"]).filter(
    lambda key: key not in ("tags", "createdAt", "state", "duration", "_step", "displayName",
                            "name", "username", "sweep", "group", "jobType", "host"))
_other_run_fields = _run_keys.map(lambda key: Field("run", tuple(key.split("."))))
_strings = st.text(st.characters(codec="utf-8", exclude_characters="=<>"), max_size=12)
_numbers = st.one_of(st.integers(-10**12, 10**12),
                     st.floats(allow_nan=False, allow_infinity=False))
_scalars = st.one_of(_numbers, _strings, st.booleans())
_ops = st.sampled_from(["==", "!=", "<=", ">="])

_STATE = Field("run", ("state",))
_TAGS = Field("run", ("tags",))
_CREATED = Field("run", ("createdAt",))
_STRING_ATTRIBUTES = [Field("run", (key,)) for key in
                      ("displayName", "name", "username", "sweep", "group", "jobType", "host")]
_NUMBER_ATTRIBUTES = [Field("run", ("duration",)), Field("run", ("_step",))]


def _leaves() -> st.SearchStrategy[Any]:
    """The predicates wandb-workspaces can say, with literals the parser accepts."""
    values = st.lists(_scalars, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Compare, st.one_of(_user_fields, _other_run_fields), _ops, _scalars),
        st.builds(Compare, st.sampled_from(_STRING_ATTRIBUTES), _ops, _strings),
        st.builds(Compare, st.sampled_from(_NUMBER_ATTRIBUTES), _ops, _numbers),
        st.builds(Compare, st.just(_STATE), st.sampled_from(["==", "!="]),
                  st.sampled_from(["running", "finished", "crashed", "failed"])),
        st.builds(Compare, st.just(_CREATED), _ops,
                  st.sampled_from(["2024-01-01", "2024-05-01T12:00:00Z"])),
        st.builds(In, st.one_of(_user_fields, _other_run_fields), values),
        st.builds(In, st.just(_TAGS), st.lists(_strings, max_size=3).map(tuple)),
        st.builds(In, _user_fields, values).map(Not),
        st.builds(In, st.just(_TAGS), st.lists(_strings, max_size=3).map(tuple)).map(Not),
        st.builds(Within, st.just(_CREATED),
                  st.builds(Duration, st.one_of(st.integers(0, 10**6),
                                                st.sampled_from([0.5, 1.5, 2.25])),
                            st.sampled_from(["m", "h", "d"]))),
    )


_filters = st.recursive(
    _leaves(),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=4).map(lambda ops: And(tuple(ops))),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: Or(tuple(ops)))),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(_filters)
def test_round_trip_is_exact_on_the_supported_subset(expr: Any) -> None:
    query = Query(expr)
    assert parse(str(query)) == query  # the generated query is one the language can say
    text = to_wandb_workspaces(query)
    assert from_wandb_workspaces(text) == query


_PIECES = ["Config('a')", "Metric('State')", "Tags()", "SummaryMetric('x.y')", "==", "=", "<",
           ">=", "!=", "in", "not", "and", "or", "(", ")", "[", "]", ",", "1", "-", "2.5",
           "'x'", "'finished'", "within_last", "5", "days", "None", "True", "WithinLast", "&",
           "'", "Metric('CreatedTimestamp')", "Metric('Runtime')", "bare"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40),
                 st.lists(st.sampled_from(_PIECES), max_size=12).map(" ".join)))
def test_any_text_reads_or_raises_a_query_error(text: str) -> None:
    try:
        query = from_wandb_workspaces(text)
    except QuerySyntaxError as error:
        assert error.span[0] <= len(text)
        return
    try:
        written = to_wandb_workspaces(query)
    except TargetError:
        return
    assert from_wandb_workspaces(written) == query

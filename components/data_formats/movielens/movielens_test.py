"""Tests for components.data_formats.movielens: layout detection, line parsing, reports, chunks.

Every fixture is written as explicit bytes, so encodings (latin-1 titles, invalid UTF-8) are
exactly what the real MovieLens archives contain.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from components.data_formats.movielens import layouts, readers, tables, validation
from components.data_formats.movielens.validation import Movie, Rating, Reason, User

# --- fixtures ------------------------------------------------------------------------------

ML1M_RATINGS = b"1::10::5::978300760\n1::20::3::978300761\n2::10::4::978300762\n"
ML1M_MOVIES = (
    "10::Café au lait (1994)::Comedy|Drama\n"
    "20::Bicycle Thief, The (Ladri di biciclette) (1948)::Drama\n"
).encode("latin-1")
ML1M_USERS = b"1::F::1::10::48067\n2::M::56::16::70072\n"

# u.item: id|title|release date|video release date|IMDb URL|19 genre flags, in the order
# unknown|Action|Adventure|Animation|Children's|Comedy|Crime|Documentary|Drama|Fantasy|
# Film-Noir|Horror|Musical|Mystery|Romance|Sci-Fi|Thriller|War|Western
ML100K_DATA = b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
ML100K_ITEM = (
    b"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
    b"|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    b"267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    b"1300|Nameless Western|15-Mar-1997||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n"
    b"1433|Mis\xe9rables, Les (1995)|01-Jan-1995||http://y|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
)
ML100K_USER = b"1|24|M|technician|85711\n2|53|F|other|94043\n"

ML_LATEST_RATINGS = (
    b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,0.5,964981247\n1,6,4.5,964982224\n"
)
ML_LATEST_MOVIES = (
    b"movieId,title,genres\n"
    b"1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    b'11,"American President, The (1995)",Comedy|Drama|Romance\n'
    b"182727,A Christmas Story Live! (2017),(no genres listed)\n"
    b"171749,Death Note: Desu n\xc3\xb4to (2006\xe2\x80\x932007),Animation|Drama\n"
    b'3,"Hitchhiker\'s ""Guide"" (2005)",Comedy\n'
    b"999,Untitled Project,Drama\n"
)


def write(directory: Path, files: dict[str, bytes]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return str(directory)


def all_lines(path: Path, chunk_bytes: int, encoding: str = "utf-8") -> list[tuple[int, str]]:
    chunks = readers.plan_chunks(str(path), chunk_bytes)
    return [item for chunk in chunks for item in readers.read_chunk(chunk, encoding)]


def parse_ratings_file(layout: layouts.Layout, path: Path) -> list[Rating | Reason]:
    return [validation.parse_rating(layout, line, n) for n, line in all_lines(path, 1 << 20)]


# --- layout detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES}, layouts.ML_1M),
        ({"u.data": ML100K_DATA, "u.item": ML100K_ITEM, "u.user": ML100K_USER}, layouts.ML_100K),
        ({"ratings.csv": ML_LATEST_RATINGS, "movies.csv": ML_LATEST_MOVIES}, layouts.ML_LATEST),
    ],
    ids=["ml-1m", "ml-100k", "ml-latest"],
)
def test_detect_layout_from_files_present(tmp_path, files, expected):
    # Unrelated files next to the data do not confuse detection.
    files = {**files, "README.txt": b"readme\n", "tags.csv": b"userId,movieId,tag,timestamp\n"}
    assert layouts.detect_layout(write(tmp_path / "d", files)) is expected


def test_detect_layout_accepts_trailing_slash(tmp_path):
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES})
    assert layouts.detect_layout(data_dir + "/") is layouts.ML_1M


def test_detect_layout_missing_movie_file_names_it(tmp_path):
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS})
    with pytest.raises(layouts.DataError, match=r"ml-1m layout .*movies\.dat is missing"):
        layouts.detect_layout(data_dir)


@pytest.mark.parametrize("empty", ["ratings.csv", "movies.csv"])
def test_detect_layout_empty_required_file(tmp_path, empty):
    files = {"ratings.csv": ML_LATEST_RATINGS, "movies.csv": ML_LATEST_MOVIES, empty: b""}
    data_dir = write(tmp_path / "d", files)
    with pytest.raises(layouts.DataError, match=re.escape(empty) + r".* is empty"):
        layouts.detect_layout(data_dir)


def test_detect_layout_without_movielens_files_lists_what_it_expects(tmp_path):
    data_dir = write(tmp_path / "d", {"README.txt": b"nothing here\n", "links.csv": b"a,b\n"})
    with pytest.raises(layouts.DataError) as error:
        layouts.detect_layout(data_dir)
    message = str(error.value)
    assert "No MovieLens files" in message
    assert data_dir in message
    for name in ("ratings.dat", "movies.dat", "u.data", "u.item", "ratings.csv", "movies.csv"):
        assert name in message


def test_detect_layout_missing_folder(tmp_path):
    with pytest.raises(layouts.DataError, match="does not exist"):
        layouts.detect_layout(str(tmp_path / "nowhere"))


# --- ml-1m ---------------------------------------------------------------------------------


def test_ml1m_movies_are_latin1_and_years_come_from_the_last_parenthesis(tmp_path):
    assert b"Caf\xe9" in ML1M_MOVIES  # not valid UTF-8: the file must be read as latin-1
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES})
    movies, report = tables.read_movies(data_dir, layouts.ML_1M)
    assert movies == {
        10: Movie(10, "Café au lait (1994)", 1994, ("Comedy", "Drama")),
        20: Movie(20, "Bicycle Thief, The (Ladri di biciclette) (1948)", 1948, ("Drama",)),
    }
    assert (report.lines, report.accepted, report.rejected) == (2, 2, {})


def test_ml1m_ratings_and_users(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_bytes(ML1M_RATINGS)
    assert parse_ratings_file(layouts.ML_1M, path) == [
        Rating(1, 10, 5.0, 978300760, 1),
        Rating(1, 20, 3.0, 978300761, 2),
        Rating(2, 10, 4.0, 978300762, 3),
    ]
    data_dir = write(tmp_path / "d", {"users.dat": ML1M_USERS})
    users, report = tables.read_users(data_dir, layouts.ML_1M)
    assert users == {1: User(1, "F", 1, "10", "480"), 2: User(2, "M", 56, "16", "700")}
    assert (report.lines, report.accepted) == (2, 2)


def test_ml1m_crlf_line_endings(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_bytes(b"1::10::5::978300760\r\n2::20::1::978300761\r\n")
    assert parse_ratings_file(layouts.ML_1M, path) == [
        Rating(1, 10, 5.0, 978300760, 1),
        Rating(2, 20, 1.0, 978300761, 2),
    ]


# --- ml-100k -------------------------------------------------------------------------------


def test_ml100k_movies_genre_flags_and_years(tmp_path):
    data_dir = write(tmp_path / "d", {"u.data": ML100K_DATA, "u.item": ML100K_ITEM})
    movies, report = tables.read_movies(data_dir, layouts.ML_100K)
    assert movies[1] == Movie(1, "Toy Story (1995)", 1995, ("Animation", "Children's", "Comedy"))
    # No year anywhere -> 0; first flag is "unknown".
    assert movies[267] == Movie(267, "unknown", 0, ("unknown",))
    # No year in the title -> the release date's year; last flag is "Western".
    assert movies[1300] == Movie(1300, "Nameless Western", 1997, ("Western",))
    assert movies[1433] == Movie(1433, "Misérables, Les (1995)", 1995, ("Drama",))
    assert (report.lines, report.accepted, report.rejected) == (4, 4, {})


def test_ml100k_ratings_are_tab_separated(tmp_path):
    path = tmp_path / "u.data"
    path.write_bytes(ML100K_DATA)
    assert parse_ratings_file(layouts.ML_100K, path) == [
        Rating(196, 242, 3.0, 881250949, 1),
        Rating(186, 302, 3.0, 891717742, 2),
    ]
    assert (
        validation.parse_rating(layouts.ML_100K, "196::242::3::881250949", 1)
        is Reason.WRONG_COLUMN_COUNT
    )


def test_ml100k_users_are_id_age_gender_occupation_zip(tmp_path):
    data_dir = write(tmp_path / "d", {"u.user": ML100K_USER})
    users, report = tables.read_users(data_dir, layouts.ML_100K)
    assert users == {
        1: User(1, "M", 24, "technician", "857"),
        2: User(2, "F", 53, "other", "940"),
    }
    assert report.accepted == 2
    # ML-1M's order (gender before age) is not accepted in a u.user file.
    assert (
        validation.parse_user(layouts.ML_100K, "1|M|24|technician|85711", 1) is Reason.NON_NUMERIC
    )


# --- ml-latest -----------------------------------------------------------------------------


def test_ml_latest_movies_csv(tmp_path):
    data_dir = write(
        tmp_path / "d", {"ratings.csv": ML_LATEST_RATINGS, "movies.csv": ML_LATEST_MOVIES}
    )
    movies, report = tables.read_movies(data_dir, layouts.ML_LATEST)
    assert movies == {
        1: Movie(
            1,
            "Toy Story (1995)",
            1995,
            ("Adventure", "Animation", "Children", "Comedy", "Fantasy"),
        ),
        11: Movie(11, "American President, The (1995)", 1995, ("Comedy", "Drama", "Romance")),
        182727: Movie(182727, "A Christmas Story Live! (2017)", 2017, ()),
        171749: Movie(
            171749, "Death Note: Desu nôto (2006\u20132007)", 2006, ("Animation", "Drama")
        ),
        3: Movie(3, 'Hitchhiker\'s "Guide" (2005)', 2005, ("Comedy",)),
        999: Movie(999, "Untitled Project", 0, ("Drama",)),
    }
    assert report.lines == 7
    assert report.accepted == 6
    assert report.rejected == {"header": 1}
    assert report.invalid() == 0
    assert report.data_lines() == 6


def test_ml_latest_ratings_header_and_half_stars(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(ML_LATEST_RATINGS)
    assert parse_ratings_file(layouts.ML_LATEST, path) == [
        Reason.HEADER,
        Rating(1, 1, 4.0, 964982703, 2),
        Rating(1, 3, 0.5, 964981247, 3),
        Rating(1, 6, 4.5, 964982224, 4),
    ]


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("Fawlty Towers (1975\u20131979)", 1975),
        ("Some Series (2006\u2013)", 2006),
        ("Other Series (2001-2003)", 2001),
        ("Babylon 5 (1994) ", 1994),
        ("1984 (1956)", 1956),
        ("2001: A Space Odyssey", 0),
        ("Movie (1995) Extended", 0),
        ("", 0),
    ],
)
def test_year_from_title(title, year):
    assert validation.year_from_title(title) == year


# --- broken lines --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "line", "line_no", "reason"),
    [
        (layouts.ML_1M, "1::10::5", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_1M, "1::10::5::978300760::9", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_1M, "1,10,5,978300760", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_1M, "1::ten::5::978300760", 4, Reason.NON_NUMERIC),
        (layouts.ML_1M, "1::10::five::978300760", 4, Reason.NON_NUMERIC),
        (layouts.ML_1M, "1::10::5::9783.5", 4, Reason.NON_NUMERIC),
        (layouts.ML_1M, "::10::5::978300760", 4, Reason.NON_NUMERIC),
        (layouts.ML_1M, "1::10::0::978300760", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_1M, "1::10::6::978300760", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_1M, "1::10::-1::978300760", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_1M, "", 4, Reason.BLANK),
        (layouts.ML_1M, "  \r", 4, Reason.BLANK),
        (layouts.ML_1M, readers.UNDECODABLE_LINE, 4, Reason.UNDECODABLE),
        (layouts.ML_100K, "196 242 3 881250949", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_100K, "196\t242\t6\t881250949", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_LATEST, "1,1,5.5,964982703", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_LATEST, "1,1,0.0,964982703", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_LATEST, "1,1,nan,964982703", 4, Reason.RATING_OUT_OF_RANGE),
        (layouts.ML_LATEST, "1,1,4.0", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_LATEST, "1,1,4.0,964982703,extra", 4, Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_LATEST, "1,1,4.0,964982703.0", 4, Reason.NON_NUMERIC),
        (layouts.ML_LATEST, "u1,1,4.0,964982703", 4, Reason.NON_NUMERIC),
        (layouts.ML_LATEST, "", 4, Reason.BLANK),
        (layouts.ML_LATEST, "userId,movieId,rating,timestamp", 1, Reason.HEADER),
    ],
)
def test_broken_rating_lines_get_their_reason(layout, line, line_no, reason):
    assert validation.parse_rating(layout, line, line_no) is reason


def test_blank_first_line_of_csv_is_blank_not_header():
    assert validation.parse_rating(layouts.ML_LATEST, "", 1) is Reason.BLANK


@pytest.mark.parametrize(
    ("layout", "line", "reason"),
    [
        (layouts.ML_1M, "10::Heat (1995)", Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_1M, "ten::Heat (1995)::Action", Reason.NON_NUMERIC),
        (layouts.ML_1M, "", Reason.BLANK),
        (
            layouts.ML_100K,
            "1|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1",
            Reason.WRONG_COLUMN_COUNT,
        ),
        (
            layouts.ML_100K,
            "1|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|2",
            Reason.NON_NUMERIC,
        ),
        (
            layouts.ML_100K,
            "x|Toy Story (1995)|01-Jan-1995||url|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
            Reason.NON_NUMERIC,
        ),
        (layouts.ML_LATEST, "11,American President, The (1995),Comedy", Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_LATEST, "x,Heat (1995),Action", Reason.NON_NUMERIC),
        (layouts.ML_LATEST, readers.UNDECODABLE_LINE, Reason.UNDECODABLE),
    ],
)
def test_broken_movie_lines_get_their_reason(layout, line, reason):
    assert validation.parse_movie(layout, line, 5) is reason


@pytest.mark.parametrize(
    ("layout", "line", "reason"),
    [
        (layouts.ML_1M, "1::F::1::10", Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_1M, "1::F::young::10::48067", Reason.NON_NUMERIC),
        (layouts.ML_1M, "one::F::1::10::48067", Reason.NON_NUMERIC),
        (layouts.ML_1M, " \r", Reason.BLANK),
        (layouts.ML_100K, "1|24|M|technician", Reason.WRONG_COLUMN_COUNT),
        (layouts.ML_100K, "1::24::M::technician::85711", Reason.WRONG_COLUMN_COUNT),
    ],
)
def test_broken_user_lines_get_their_reason(layout, line, reason):
    assert validation.parse_user(layout, line, 5) is reason


def test_invalid_utf8_line_in_ratings_csv_is_undecodable_and_neighbours_parse(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(
        b"userId,movieId,rating,timestamp\n"
        b"1,1,4.0,964982703\n"
        b"1,\xff\xfe,4.0,964982703\n"
        b"1,3,3.0,964981247\n"
    )
    outcomes = parse_ratings_file(layouts.ML_LATEST, path)
    assert outcomes == [
        Reason.HEADER,
        Rating(1, 1, 4.0, 964982703, 2),
        Reason.UNDECODABLE,
        Rating(1, 3, 3.0, 964981247, 4),
    ]


def test_invalid_utf8_in_movies_csv_is_counted_undecodable(tmp_path):
    data_dir = write(
        tmp_path / "d",
        {
            "ratings.csv": ML_LATEST_RATINGS,
            "movies.csv": (
                b"movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Bad \xe9 (1990),Drama\n"
            ),
        },
    )
    movies, report = tables.read_movies(data_dir, layouts.ML_LATEST)
    assert set(movies) == {1}
    assert report.rejected == {"header": 1, "undecodable": 1}
    assert "line 3" in report.first_rejections["undecodable"]
    assert report.invalid() == 1


def test_nul_byte_in_ml_latest_rating_line_is_rejected_not_raised():
    outcome = validation.parse_rating(layouts.ML_LATEST, "1,1\x00,4.0,964982703", 7)
    assert outcome is validation.Reason.MALFORMED


def test_nul_byte_in_movies_csv_is_counted_not_raised(tmp_path):
    data_dir = write(
        tmp_path / "d",
        {
            "ratings.csv": ML_LATEST_RATINGS,
            "movies.csv": (
                b"movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat\x00 (1995),Action\n"
            ),
        },
    )
    movies, report = tables.read_movies(data_dir, layouts.ML_LATEST)
    assert set(movies) == {1}
    assert report.lines == report.accepted + sum(report.rejected.values()) == 3


# --- file reports --------------------------------------------------------------------------


def test_read_movies_report_reconciles_and_first_duplicate_wins(tmp_path):
    movies_dat = (
        "10::Café au lait (1994)::Comedy\n"  # 1 accepted
        "20::Heat (1995)::Action|Crime\n"  # 2 accepted
        "10::Another Café (2000)::Drama\n"  # 3 duplicate id
        "30::No genres column\n"  # 4 wrong column count
        "\n"  # 5 blank
        "x::Heat (1995)::Action\n"  # 6 non numeric
        "20::Heat again (1995)::Action\n"  # 7 duplicate id
    ).encode("latin-1")
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": movies_dat})
    movies, report = tables.read_movies(data_dir, layouts.ML_1M)
    assert movies[10].title == "Café au lait (1994)"
    assert movies[20].title == "Heat (1995)"
    assert set(movies) == {10, 20}
    assert report.lines == 7
    assert report.accepted == 2
    assert report.rejected == {
        "duplicate": 2,
        "wrong_column_count": 1,
        "blank_line": 1,
        "non_numeric": 1,
    }
    assert report.lines == report.accepted + sum(report.rejected.values())
    assert report.invalid() == 4  # blank lines are not invalid
    assert report.data_lines() == 6
    assert "line 3" in report.first_rejections["duplicate"]
    assert report.to_json()["rejected"] == report.rejected


def test_read_users_report_reconciles_with_duplicates(tmp_path):
    users_dat = b"1::F::1::10::48067\n1::M::25::3::11111\n2::M::56::16\n\n3::F::18::4::02139\n"
    data_dir = write(tmp_path / "d", {"users.dat": users_dat})
    users, report = tables.read_users(data_dir, layouts.ML_1M)
    assert users == {1: User(1, "F", 1, "10", "480"), 3: User(3, "F", 18, "4", "021")}
    assert report.lines == 5
    assert report.accepted == 2
    assert report.rejected == {"duplicate": 1, "wrong_column_count": 1, "blank_line": 1}
    assert report.lines == report.accepted + sum(report.rejected.values())


def test_read_users_without_users_file(tmp_path):
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES})
    assert tables.read_users(data_dir, layouts.ML_1M) == ({}, None)
    assert tables.read_users(data_dir, layouts.ML_LATEST) == ({}, None)


# --- chunks --------------------------------------------------------------------------------

CHUNK_LINES = [
    "userId,movieId,rating,timestamp",
    "1,1,4.0,964982703",
    "",
    "12,345,2.5,9",
    "7,8,1.0,1",
    "3,2,5.0,964981247",
    "1,2,3.0,123",
    "x",
    "99999,123456,4.5,1234567890",
]


@pytest.mark.parametrize("trailing_newline", [True, False], ids=["newline", "no-newline"])
@pytest.mark.parametrize("chunk_bytes", [1, 7, 13, 1 << 20])
def test_chunks_yield_every_line_once_with_line_numbers(tmp_path, chunk_bytes, trailing_newline):
    data = "\n".join(CHUNK_LINES).encode() + (b"\n" if trailing_newline else b"")
    path = tmp_path / "ratings.csv"
    path.write_bytes(data)
    chunks = readers.plan_chunks(str(path), chunk_bytes)
    # Chunks tile the file and start on line boundaries.
    assert chunks[0].start == 0
    assert chunks[-1].end == len(data)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
        assert data[before.end - 1 : before.end] == b"\n"
    if chunk_bytes == 7:
        assert len(chunks) > 3
    assert all_lines(path, chunk_bytes) == list(enumerate(CHUNK_LINES, start=1))


def test_chunks_of_a_crlf_file_yield_every_line_once(tmp_path):
    pairs = list(itertools.product((1, 2, 3), (10, 11, 12)))
    data = b"".join(f"{user}::{movie}::4::9783001{movie}\r\n".encode() for user, movie in pairs)
    path = tmp_path / "ratings.dat"
    path.write_bytes(data)
    chunks = readers.plan_chunks(str(path), 7)
    assert chunks[-1].end == len(data)
    outcomes = [validation.parse_rating(layouts.ML_1M, text, n) for n, text in all_lines(path, 7)]
    assert outcomes == [
        Rating(user, movie, 4.0, int(f"9783001{movie}"), n)
        for n, (user, movie) in enumerate(pairs, start=1)
    ]


def test_chunks_never_split_a_multibyte_character(tmp_path):
    lines = ["movieId,title", "1,Café", "2,Death Note (2006\u20132007)", "3,\u00fc\u00f1\u00ee"]
    data = "\n".join(lines).encode("utf-8")
    path = tmp_path / "movies.csv"
    path.write_bytes(data)
    for chunk_bytes in range(1, len(data) + 2):
        assert all_lines(path, chunk_bytes) == list(enumerate(lines, start=1)), chunk_bytes


def test_chunk_line_numbers_match_parse_results(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_bytes(b"1::10::5::978300100\n1::20::9::978300101\n\n2::10::4::978300102")
    outcomes = [
        validation.parse_rating(layouts.ML_1M, line, n)
        for n, line in all_lines(path, chunk_bytes=7)
    ]
    assert outcomes == [
        Rating(1, 10, 5.0, 978300100, 1),
        Reason.RATING_OUT_OF_RANGE,
        Reason.BLANK,
        Rating(2, 10, 4.0, 978300102, 4),
    ]


def test_plan_chunks_of_empty_file(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(b"")
    assert readers.plan_chunks(str(path), 7) == []


# --- value ranges (components/data_formats/limits.py) ----------------------------------------

WINDOW = validation.RatingRules(min_timestamp=788_918_400, max_timestamp=1_800_000_000)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1::3999999::5::978300760", None),  # the largest id the on-device table holds
        ("1::4000000::5::978300760", Reason.ID_TOO_LARGE),
        (f"1::{2**31 + 5}::5::978300760", Reason.ID_TOO_LARGE),
        (f"{2**31}::10::5::978300760", Reason.ID_TOO_LARGE),
        (f"1::{2**63}::5::978300760", Reason.NOT_INT64),
        (f"{2**63}::10::5::978300760", Reason.NOT_INT64),  # would wrap to a negative id
        (f"1::10::5::{2**63}", Reason.NOT_INT64),
        (f"1::{-(2**63) - 1}::5::978300760", Reason.NOT_INT64),
        ("0::10::5::978300760", Reason.ID_NOT_POSITIVE),
        ("-3::10::5::978300760", Reason.ID_NOT_POSITIVE),
        ("1::-10::5::978300760", Reason.ID_NOT_POSITIVE),
        ("1::10::5::-978300760", Reason.TIMESTAMP_OUT_OF_RANGE),
        ("1::10::5::97830", Reason.TIMESTAMP_OUT_OF_RANGE),  # a last line cut short: 1970
        ("1::10::5::788918399", Reason.TIMESTAMP_OUT_OF_RANGE),
        ("1::10::5::788918400", None),
        ("1::10::5::1800000001", Reason.TIMESTAMP_OUT_OF_RANGE),
        ("1::1_000::5::978300760", Reason.NON_NUMERIC),
        ("1::1e3::5::978300760", Reason.NON_NUMERIC),
        ("1::\u0661\u0660::5::978300760", Reason.NON_NUMERIC),  # Arabic-Indic digits
        ("1::10::4_0::978300760", Reason.NON_NUMERIC),
    ],
)
def test_every_value_is_range_checked(line, reason):
    outcome = validation.parse_rating(layouts.ML_1M, line, 3, WINDOW)
    assert outcome is reason if reason else isinstance(outcome, Rating)


def test_rating_rules_read_columns_in_the_headers_order(tmp_path):
    data_dir = write(
        tmp_path / "d",
        {
            "ratings.csv": b"timestamp,rating,movieId,userId\n964982703,4.0,6,1\n",
            "movies.csv": ML_LATEST_MOVIES,
        },
    )
    rules = validation.rating_rules(data_dir, layouts.ML_LATEST)
    assert rules.columns == (3, 2, 1, 0)
    assert validation.parse_rating(layouts.ML_LATEST, "964982703,4.0,6,1", 2, rules) == Rating(
        1, 6, 4.0, 964982703, 2
    )
    # Without a given end, the window ends a day after now.
    assert rules.max_timestamp > 1_700_000_000


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"1,31,2.5,1260759144\n", "has no header line"),
        (b"user,movie,rating,timestamp\n", "userId,movieId,rating,timestamp"),
        (b"userId,movieId,rating\n", "does not name the expected columns"),
        (b"userId,userId,rating,timestamp\n", "does not name the expected columns"),
    ],
)
def test_a_header_that_does_not_name_the_columns_is_one_error(tmp_path, header, message):
    path = tmp_path / "ratings.csv"
    path.write_bytes(header + b"1,31,2.5,1260759144\n")
    with pytest.raises(layouts.DataError, match=re.escape(message)) as error:
        validation.header_columns(str(path), validation.RATING_COLUMNS)
    assert str(path) in str(error.value)


def test_headers_are_matched_after_a_bom_and_without_case(tmp_path):
    path = tmp_path / "movies.csv"
    path.write_bytes(readers.UTF8_BOM + b"Title,MOVIEID,genres\n")
    assert validation.header_columns(str(path), validation.MOVIE_COLUMNS) == (1, 0, 2)


def test_quoted_titles_across_lines_are_one_record_and_the_counts_reconcile(tmp_path):
    movies_csv = (
        b"movieId,title,genres\n"
        b'1,"Toy Story\n(1995)",Comedy\n'
        b'2,"Heat, ""the""\r\n\r\n(1995)",Action\n'
        b'3,"Broken title,Drama\n'  # never closed: judged alone, the next line is read
        b"4,Casino (1995),Crime\n"
    )
    data_dir = write(tmp_path / "d", {"ratings.csv": ML_LATEST_RATINGS, "movies.csv": movies_csv})
    movies, report = tables.read_movies(data_dir, layouts.ML_LATEST)
    assert movies[1] == Movie(1, "Toy Story (1995)", 1995, ("Comedy",))
    assert movies[2] == Movie(2, 'Heat, "the" (1995)', 1995, ("Action",))
    assert set(movies) == {1, 2, 4}
    assert report.rejected == {"header": 1, "continued_record": 3, "wrong_column_count": 1}
    assert report.lines == 8 == report.accepted + sum(report.rejected.values())
    assert report.invalid() == 1


def test_a_bom_is_not_data_in_any_layout(tmp_path):
    # A BOM before a latin-1 movies.dat: UTF-8 lines and latin-1 lines both read.
    movies_dat = readers.UTF8_BOM + "1::Café (1994)::Comedy\n".encode() + ML1M_MOVIES
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": movies_dat})
    movies, report = tables.read_movies(data_dir, layouts.ML_1M)
    assert movies[1].title == "Café (1994)" and movies[10].title == "Café au lait (1994)"
    assert report.rejected == {}
    ratings = tmp_path / "ratings.dat"
    ratings.write_bytes(readers.UTF8_BOM + ML1M_RATINGS)
    assert parse_ratings_file(layouts.ML_1M, ratings)[0] == Rating(1, 10, 5.0, 978300760, 1)
    assert [n for n, _ in readers.stream_lines(str(ratings))] == [1, 2, 3]
    assert next(readers.stream_lines(str(ratings)))[1] == "1::10::5::978300760"


@pytest.mark.parametrize(
    ("layout", "line", "reason"),
    [
        (layouts.ML_1M, "0::Zero (1995)::Drama", Reason.ID_NOT_POSITIVE),
        (layouts.ML_1M, f"{2**31 + 5}::Big (1995)::Drama", Reason.ID_TOO_LARGE),
        (layouts.ML_1M, "5::Future (2950)::Drama", Reason.YEAR_OUT_OF_RANGE),
        (layouts.ML_LATEST, f"{2**64},Huge (1995),Drama", Reason.NOT_INT64),
    ],
)
def test_movie_ids_and_years_are_range_checked(layout, line, reason):
    assert validation.parse_movie(layout, line, 5) is reason


@pytest.mark.parametrize(
    ("layout", "line", "reason"),
    [
        (layouts.ML_1M, "1::F::121::10::48067", Reason.AGE_OUT_OF_RANGE),
        (layouts.ML_1M, "1::X::25::10::48067", Reason.UNKNOWN_GENDER),
        (layouts.ML_1M, "-1::F::25::10::48067", Reason.ID_NOT_POSITIVE),
        (layouts.ML_100K, "1|24|m|technician|85711", Reason.UNKNOWN_GENDER),
    ],
)
def test_user_profiles_are_range_checked(layout, line, reason):
    assert validation.parse_user(layout, line, 5) is reason


def test_two_layouts_in_one_folder_ask_which(tmp_path):
    files = {
        "ratings.dat": ML1M_RATINGS,
        "movies.dat": ML1M_MOVIES,
        "ratings.csv": ML_LATEST_RATINGS,
        "movies.csv": ML_LATEST_MOVIES,
    }
    with pytest.raises(
        layouts.DataError, match=r"ratings\.dat \(ml-1m\) and ratings\.csv.*which one"
    ):
        layouts.detect_layout(write(tmp_path / "d", files))


def test_a_data_path_to_a_file_is_named_as_such(tmp_path):
    data_dir = write(tmp_path / "d", {"ratings.dat": ML1M_RATINGS, "movies.dat": ML1M_MOVIES})
    with pytest.raises(layouts.DataError, match="is a file, not a folder"):
        layouts.detect_layout(data_dir + "/ratings.dat")


def test_stream_lines_reads_what_read_lines_reads_and_bounds_long_lines(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes("\n".join(CHUNK_LINES).encode())
    assert list(readers.stream_lines(str(path), block_bytes=5)) == list(
        enumerate(CHUNK_LINES, start=1)
    )
    path.write_bytes(b"x" * 50 + b"\n1,1,4.0,964982703\n")
    lines = [text for _, text in readers.stream_lines(str(path), block_bytes=8, max_line_bytes=16)]
    assert lines[-1] == "1,1,4.0,964982703" and all(len(text) <= 64 for text in lines)

"""The one page rule every paged view uses."""

from services.rules.paging import Page, clamp


def test_a_middle_page_counts_its_rows_from_one():
    page = Page(rows=list(range(25)), total=60, page=2, page_size=25)
    assert (page.pages, page.first, page.last) == (3, 26, 50)


def test_a_short_last_page_ends_at_the_total():
    page = Page(rows=list(range(10)), total=60, page=3, page_size=25)
    assert (page.pages, page.first, page.last) == (3, 51, 60)


def test_nothing_matched_is_one_empty_page():
    page: Page[int] = Page(rows=[], total=0, page=1, page_size=25)
    assert (page.pages, page.first, page.last) == (1, 0, 0)


def test_a_page_past_the_end_shows_the_last_one():
    assert clamp(9, total=60, page_size=25) == 3
    assert clamp(0, total=60, page_size=25) == 1
    assert clamp(9, total=0, page_size=25) == 1

import pytest

from buckets.vocabulary import bucket_name_errors, unique_bucket_name


@pytest.mark.parametrize("name", ["abc", "my-bucket.2024", "a" * 63, "1bucket", "logs.example.com"])
def test_valid_names(name):
    assert bucket_name_errors(name) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ab", "3 to 63 characters long (this one has 2)"),
        ("a" * 64, "(this one has 64)"),
        ("My_Bucket", "only lowercase letters, digits, dots (.) and hyphens (-); not allowed here: B M _"),
        ("my bucket", "not allowed here: space"),
        ("-bucket", "must start with a lowercase letter or a digit"),
        ("bucket-", "must end with a lowercase letter or a digit"),
        ("my..bucket", "two dots in a row"),
        ("192.168.5.4", "look like an IP address"),
        ("xn--bucket", "must not start with “xn--”"),
        ("sthree-bucket", "must not start with “sthree-”"),
        ("amzn-s3-demo-bucket", "must not start with “amzn-s3-demo-”"),
        ("bucket-s3alias", "must not end with “-s3alias”"),
        ("bucket--ol-s3", "must not end with “--ol-s3”"),
        ("bucket.mrap", "must not end with “.mrap”"),
        ("bucket--x-s3", "must not end with “--x-s3”"),
    ],
)
def test_each_rule_has_its_own_message(name, fragment):
    errors = bucket_name_errors(name)
    assert len(errors) == 1, errors
    assert fragment in errors[0]


def test_several_broken_rules_give_several_messages():
    errors = bucket_name_errors("-A..")
    assert len(errors) == 4  # characters, start, end, two dots
    assert len(bucket_name_errors("")) == 1


@pytest.mark.parametrize("prefix", ["", "logs", "Team Logs_2024!", "x" * 80, "..weird--", "a.b"])
def test_unique_names_are_valid_and_unique(prefix):
    names = {unique_bucket_name(prefix) for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert bucket_name_errors(name) == [], name
        assert len(name) <= 63
    if prefix == "logs":
        assert all(n.startswith("logs-") and len(n) == 41 for n in names)
    if prefix == "Team Logs_2024!":
        assert all(n.startswith("team-logs-2024-") for n in names)


def test_unique_name_keeps_a_reserved_prefix_so_the_form_can_say_so():
    assert bucket_name_errors(unique_bucket_name("xn--abc")) == [
        "A bucket name must not start with “xn--”: that prefix is reserved."
    ]

"""The driver JVM options of a session thresher builds itself (no JVM started here)."""

from __future__ import annotations

from thresher.spark import LOCAL_JAVA_OPTIONS, local_java_options


def test_c1_only_by_default_with_the_log_configuration_first() -> None:
    options = local_java_options("").split()
    assert options[0].startswith("-Dlog4j2.configurationFile=")
    assert options[0].endswith("log4j2.properties")
    assert options[1:] == list(LOCAL_JAVA_OPTIONS) == ["-XX:TieredStopAtLevel=1"]


def test_user_options_come_last_so_they_override() -> None:
    options = local_java_options("-XX:TieredStopAtLevel=4 -Xss4m").split()
    # The JVM applies the last of two settings of one flag: the user's C2 request wins over the default.
    assert options.index("-XX:TieredStopAtLevel=4") > options.index("-XX:TieredStopAtLevel=1")
    assert options[-1] == "-Xss4m"

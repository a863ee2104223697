"""The monitor's charts without a kernel: what each mark holds after an update."""

from __future__ import annotations

import numpy as np

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.charts import CHARTS, Chart
from iostat_widget.widget.window import SampleWindow


def windows(hosts: int, samples: int) -> list[SampleWindow]:
    made = []
    for host in range(hosts):
        window = SampleWindow(10)
        for seq in range(samples):
            window.add(synthetic_sample(seq, 1_800_000_000.0 + seq, host=f"h{host}"))
        made.append(window)
    return made


def test_one_host_cpu_is_stacked_and_disk_has_two_lines() -> None:
    cpu = Chart(CHARTS["cpu"], ["this machine"], "200px")
    disk = Chart(CHARTS["disk"], ["this machine"], "120px")
    try:
        cpu.update(windows(1, 4))
        disk.update(windows(1, 4))
        assert np.asarray(cpu.marks[0].y).shape == (2, 4) and cpu.marks[0].fill == "bottom"
        assert np.asarray(disk.marks[0].y).shape == (2, 4)
    finally:
        cpu.close()
        disk.close()


def test_several_hosts_update_only_the_marks_that_changed() -> None:
    chart = Chart(CHARTS["cpu"], ["a", "b", "c"], "200px")
    try:
        chart.update(windows(3, 3))
        assert [len(np.asarray(mark.x)) for mark in chart.marks] == [3, 3, 3]
        later = windows(3, 6)
        chart.update(later, changed={1})
        assert [len(np.asarray(mark.x)) for mark in chart.marks] == [3, 6, 3]
        assert np.asarray(chart.marks[1].y).shape == (6,)  # one busy line per host
    finally:
        chart.close()

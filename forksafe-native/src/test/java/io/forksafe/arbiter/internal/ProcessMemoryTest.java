package io.forksafe.arbiter.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProcessMemoryTest {

    @Test
    void readsVmRssInBytes() {
        assertThat(ProcessMemory.parseVmRss("Name:\tjava\nVmPeak:\t  900 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 1 kB\n"))
                .isEqualTo(51234L * 1024);
        assertThat(ProcessMemory.parseVmRss("Name:\tkthreadd\nState:\tS\n")).isEqualTo(-1);
    }

    @Test
    void thisJvmHasAResidentSetAndAGoneProcessHasNone() {
        long rss = ProcessMemory.rssBytes(ProcessHandle.current().pid());
        long heapUsed = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertThat(rss).isGreaterThan(Math.min(heapUsed, 16L << 20));
        assertThat(ProcessMemory.rssBytes(0)).isEqualTo(-1);
        assertThat(ProcessMemory.rssBytes(Integer.MAX_VALUE)).isEqualTo(-1);
    }
}

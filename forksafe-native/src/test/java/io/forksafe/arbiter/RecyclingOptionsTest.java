package io.forksafe.arbiter;

import static org.assertj.core.api.Assertions.assertThat;

import io.forksafe.ForkRegistry;
import io.forksafe.arbiter.internal.RequestLimits;
import io.forksafe.spi.ArbiterContract;
import io.forksafe.spi.RequestTracker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The recycling options ({@code --max-requests}, {@code --max-requests-jitter}, {@code --max-rss},
 * {@code --request-timeout}): parsing, refusals (exit 2 with the fix), {@code --help}, the environment they give the
 * workers and the worker's reading of it ({@link RequestLimits}). No process is started.
 */
class RecyclingOptionsTest {

    @Test
    void theOptionsParseIntoTheConfig() {
        ArbiterConfig c = ArbiterOptionsTest.parse(false, "--max-requests", "1000", "--max-requests-jitter", "50",
                "--max-rss", "512m", "--request-timeout", "90s");
        assertThat(c.maxRequests()).isEqualTo(1000);
        assertThat(c.maxRequestsJitter()).isEqualTo(50);
        assertThat(c.maxRss()).isEqualTo(512L * 1024 * 1024);
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(ArbiterOptionsTest.parse(false, "--max-rss", "1g").maxRss()).isEqualTo(1L << 30);
        assertThat(ArbiterOptionsTest.parse(false, "--max-rss", "268435456").maxRss()).isEqualTo(256L << 20);
        ArbiterConfig none = ArbiterOptionsTest.parse(false);
        assertThat(none.maxRequests()).isZero();
        assertThat(none.maxRss()).isNull();
        assertThat(none.requestTimeout()).isNull();
        assertThat(ArbiterOptionsTest.parse(true, "--max-rss", "1g").maxRss()).as("with --preload too")
                .isEqualTo(1L << 30);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "--max-rss;lots;--max-rss needs a size such as 1048576, 512k, 10m or 1g, got 'lots'",
            "--max-rss;512x;--max-rss needs a size such as",
            "--max-rss;100k;--max-rss must be at least 1m",
            "--max-requests;-5;--max-requests must be 0 (never recycle) or more, got -5",
            "--max-requests;many;--max-requests needs a whole number, got 'many'",
            "--request-timeout;0;--request-timeout must be positive",
            "--request-timeout;soon;--request-timeout needs a duration such as"})
    void aBadValueIsAUsageErrorNamingTheOptionAndTheFix(String option, String value, String message) {
        ArbiterOptionsTest.Result r = ArbiterOptionsTest.run("--bind", "127.0.0.1:0", option, value, "--",
                "com.example.Main");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(message);
    }

    @Test
    void jitterWithoutMaxRequestsIsRefusedWithTheFix() {
        ArbiterOptionsTest.Result jitter = ArbiterOptionsTest.run("--bind", "127.0.0.1:0", "--max-requests-jitter",
                "10", "--", "com.example.Main");
        assertThat(jitter.code()).isEqualTo(2);
        assertThat(jitter.err()).contains("adds to --max-requests, which is not set: add --max-requests N");
    }

    @Test
    void everyRecyclingOptionAppliesWithPreload() {
        ArbiterConfig c = ArbiterOptionsTest.parse(true, "--max-requests", "1000", "--max-requests-jitter", "50",
                "--max-rss", "512m", "--request-timeout", "90s");
        assertThat(c.preload()).isTrue();
        assertThat(c.maxRequests()).isEqualTo(1000);
        assertThat(c.maxRequestsJitter()).isEqualTo(50);
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(RequestLimits.environment(c)).as("the template's environment, which its copies inherit")
                .containsEntry(ArbiterContract.ENV_MAX_REQUESTS, "1000")
                .containsEntry(ArbiterContract.ENV_MAX_REQUESTS_JITTER, "50")
                .containsEntry(ArbiterContract.ENV_REQUEST_TIMEOUT_MILLIS, "90000");
    }

    @Test
    void aTemplateCountsWithoutALimitAndEachCopyRestartsWithItsOwnDraw() {
        Map<String, String> env = RequestLimits.environment(100, 1000, 0);
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("template"));
        RequestLimits.fromEnvironment(env::get, 0).enableInTemplate(tracker);
        assertThat(tracker.enabled()).as("the adapters install their wrapper before the checkpoint").isTrue();
        assertThat(tracker.limit()).as("the template never asks to be recycled").isZero();
        for (int i = 0; i < 1500; i++) {
            tracker.end(tracker.begin()); // warm-up: past any limit, and nothing is sent
        }
        List<String> sent = new ArrayList<>();
        RequestLimits copy = RequestLimits.fromEnvironment(env::get, 42);
        copy.enable(tracker, sent::add);
        assertThat(tracker.served()).as("counted from the copy's restore").isZero();
        assertThat(tracker.limit()).isEqualTo(copy.maxRequests()).isBetween(100L, 1100L);
        for (long i = 0; i < copy.maxRequests(); i++) {
            tracker.end(tracker.begin());
        }
        assertThat(sent).containsExactly("recycle max-requests " + copy.maxRequests());
        RequestTracker none = RequestTracker.of(new ForkRegistry("no limits"));
        RequestLimits.NONE.enableInTemplate(none);
        assertThat(none.enabled()).as("no limit: adapters install nothing").isFalse();
    }

    @Test
    void helpListsTheRecyclingOptions() {
        ArbiterOptionsTest.Result help = ArbiterOptionsTest.run("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--max-requests N", "--max-requests-jitter J", "--max-rss SIZE",
                "--request-timeout DURATION");
    }

    @Test
    void workersGetTheLimitsAndEachDrawsItsOwnJitter() {
        Map<String, String> env = RequestLimits.environment(100, 20, 1500);
        assertThat(env).containsEntry(ArbiterContract.ENV_MAX_REQUESTS, "100")
                .containsEntry(ArbiterContract.ENV_MAX_REQUESTS_JITTER, "20")
                .containsEntry(ArbiterContract.ENV_REQUEST_TIMEOUT_MILLIS, "1500");
        assertThat(RequestLimits.environment(0, 0, 0)).isEmpty();
        Set<Long> limits = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            RequestLimits l = RequestLimits.fromEnvironment(env::get, seed);
            assertThat(l.maxRequests()).isBetween(100L, 120L);
            assertThat(l.timeoutMillis()).isEqualTo(1500);
            limits.add(l.maxRequests());
        }
        assertThat(limits).as("the draws differ between workers").hasSizeGreaterThan(10);
        assertThat(RequestLimits.fromEnvironment(Map.of(ArbiterContract.ENV_MAX_REQUESTS, "7")::get, 1).maxRequests())
                .as("no jitter").isEqualTo(7);
        assertThat(RequestLimits.fromEnvironment(name -> null, 1)).isEqualTo(RequestLimits.NONE);
    }

    @Test
    void theWorkerAsksOnceAtItsLimitAndReportsARequestPastTheTimeout() {
        RequestTracker tracker = RequestTracker.of(new ForkRegistry("limits"));
        List<String> sent = new ArrayList<>();
        RequestLimits limits = new RequestLimits(3, 1);
        limits.enable(tracker, sent::add);
        assertThat(tracker.enabled()).isTrue();
        RequestTracker.Request stuck = tracker.begin();
        for (int i = 0; i < 5; i++) {
            tracker.end(tracker.begin());
        }
        assertThat(sent).containsExactly("recycle max-requests 3");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (limits.stuckLine(tracker) == null && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(limits.stuckLine(tracker)).matches("stuck \\d+ " + java.util.regex.Pattern.quote(Thread.currentThread().getName()));
        tracker.end(stuck);
        assertThat(limits.stuckLine(tracker)).isNull();
        RequestTracker untouched = RequestTracker.of(new ForkRegistry("none"));
        RequestLimits.NONE.enable(untouched, sent::add);
        assertThat(untouched.enabled()).as("no limit: adapters install nothing").isFalse();
    }
}

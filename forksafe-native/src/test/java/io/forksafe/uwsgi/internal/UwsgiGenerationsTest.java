package io.forksafe.uwsgi.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-slot start counter behind a uWSGI worker's generation. This JVM's own pid stands in for the master. */
class UwsgiGenerationsTest {

    private static final long ME = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void eachSlotCountsItsOwnStartsFromZero() throws Exception {
        Path base = dir.resolve("state");
        assertThat(UwsgiGenerations.next(base, ME, 1).value()).isZero();
        assertThat(UwsgiGenerations.next(base, ME, 1).value()).isEqualTo(1);
        assertThat(UwsgiGenerations.next(base, ME, 2).value()).isZero();
        UwsgiGenerations.Generation third = UwsgiGenerations.next(base, ME, 1);
        assertThat(third.value()).isEqualTo(2);
        long start = UwsgiGenerations.startTime(ME).orElseThrow();
        Path counter = base.resolve(ME + "-" + start).resolve("slot-1");
        assertThat(third.source()).isEqualTo(counter.toString());
        assertThat(Files.readString(counter)).isEqualTo("3");
        assertThat(Files.getPosixFilePermissions(base)).as("the state directory is private")
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
    }

    @Test
    void countersOfMastersThatAreGoneAreRemovedAndAReusedPidStartsAgain() throws Exception {
        Path base = Files.createDirectory(dir.resolve("state"));
        long start = UwsgiGenerations.startTime(ME).orElseThrow();
        Path gone = Files.createDirectories(base.resolve("2147483646-5"));         // no such pid
        Path reused = Files.createDirectories(base.resolve("1-" + (start + 12345))); // pid 1, another start time
        Files.writeString(gone.resolve("slot-1"), "4");
        Files.writeString(reused.resolve("slot-1"), "9");
        Path unrelated = Files.createDirectories(base.resolve("keep-me"));

        assertThat(UwsgiGenerations.next(base, ME, 1).value()).isZero();
        assertThat(gone).doesNotExist();
        assertThat(reused).doesNotExist();
        assertThat(unrelated).exists();
        assertThat(base.resolve(ME + "-" + start).resolve("slot-1")).hasContent("1");
    }

    @Test
    void aSymbolicLinkAsTheDirectoryIsRefusedWithTheReasonAndGenerationZero() throws Exception {
        Path real = Files.createDirectory(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        UwsgiGenerations.Generation g = UwsgiGenerations.next(link, ME, 1);
        assertThat(g.value()).isZero();
        assertThat(g.source()).contains("symbolic link").contains(UwsgiGenerations.PROPERTY);
        try (var files = Files.list(real)) {
            assertThat(files).as("nothing written through the link").isEmpty();
        }
    }

    @Test
    void anUnreadableMasterGivesZeroAndSaysWhy() {
        UwsgiGenerations.Generation g = UwsgiGenerations.next(dir, 2147483646L, 1);
        assertThat(g.value()).isZero();
        assertThat(g.source()).contains("/proc/2147483646/stat");
    }
}

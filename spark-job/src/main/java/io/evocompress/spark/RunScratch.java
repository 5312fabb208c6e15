package io.evocompress.spark;

import io.evocompress.EvocompressException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The scratch directory of a command that has no output directory of its own ({@code eval}), for
 * Spark's local directories: {@code <base>/<command>-<host>-<pid>}, where the base is
 * {@code -Devocompress.scratch=DIR} or else {@code <java.io.tmpdir>/evocompress-scratch}. Closing it
 * deletes it; a killed run cannot, so creating one first deletes the directories of this command left
 * by processes of this host that no longer run. Runs side by side each own their own directory.
 */
public final class RunScratch implements AutoCloseable {
    /** The folder under java.io.tmpdir used when no -Devocompress.scratch is set. */
    public static final String DEFAULT_BASE = "evocompress-scratch";

    private final Path dir;

    private RunScratch(Path dir) {
        this.dir = dir;
    }

    /** This process's scratch for {@code command} under the configured base. */
    public static RunScratch create(String command) {
        String configured = System.getProperty("evocompress.scratch");
        Path base = configured != null ? Path.of(configured).toAbsolutePath()
            : Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().resolve(DEFAULT_BASE);
        return create(command, base);
    }

    /** This process's scratch for {@code command} under {@code base}, after deleting those of dead processes. */
    public static RunScratch create(String command, Path base) {
        String prefix = command + "-" + host() + "-";
        Path dir = base.resolve(prefix + ProcessHandle.current().pid());
        try {
            Files.createDirectories(base);
            try (var entries = Files.list(base)) {
                for (Path p : entries.toList()) {
                    String name = p.getFileName().toString();
                    if (name.startsWith(prefix) && !p.equals(dir) && !running(name.substring(prefix.length()))) {
                        deleteTree(p);
                    }
                }
            }
            deleteTree(dir);   // a dead process's of the same pid
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new EvocompressException("Cannot prepare the scratch directory " + dir + " for Spark: " + e.getMessage()
                + " (set -Devocompress.scratch=DIR, e.g. in EVOCOMPRESS_JAVA_OPTS, to put it elsewhere)", e);
        }
        return new RunScratch(dir);
    }

    public Path dir() {
        return dir;
    }

    /** Deletes the directory and everything in it. */
    @Override
    public void close() {
        try {
            deleteTree(dir);
        } catch (IOException e) {
            throw new EvocompressException("Cannot delete the scratch directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean running(String pid) {
        try {
            Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(pid));
            return p.map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true; // not one of ours: leave it
        }
    }

    /** The host's name without a DNS lookup (the kernel's), as a file name part. */
    static String host() {
        String name = System.getenv("HOSTNAME");
        if (name == null || name.isBlank()) {
            try {
                name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            } catch (IOException | RuntimeException e) {
                name = "localhost";
            }
        }
        return name.replaceAll("[^A-Za-z0-9.]", "_");
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> all;
        try (var walk = Files.walk(dir)) {
            all = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
    }
}

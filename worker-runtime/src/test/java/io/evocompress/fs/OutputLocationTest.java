package io.evocompress.fs;

import io.evocompress.BadFiles;
import io.evocompress.EvocompressException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Output locations checked before any work: an existing directory that takes no files, and a new
 * one below it, fail naming the setting and the path; a writable one passes with nothing left in it;
 * and the check says what a write would do (as root, a mode 555 directory takes files, so it passes).
 */
class OutputLocationTest {
    @TempDir
    Path tmp;

    @Test
    void anUnwritableDirectoryFailsNamingTheSettingAndThePath() {
        Path dir = BadFiles.unwritableDirectory(tmp);
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> OutputLocation.check(dir.toString(), "Setting 'output' in run.yaml", null));
        assertTrue(e.getMessage().startsWith("Setting 'output' in run.yaml is " + dir + ", but "), e.getMessage());
        assertTrue(e.getMessage().contains(dir + " is not writable"), e.getMessage());

        Path below = dir.resolve("db");
        EvocompressException nested = assertThrows(EvocompressException.class,
            () -> OutputLocation.check(below.toString(), "Setting 'database.path' in run.yaml", null));
        assertTrue(nested.getMessage().contains("Setting 'database.path' in run.yaml is " + below), nested.getMessage());
        assertTrue(nested.getMessage().contains(dir + " is not writable"), nested.getMessage());
        assertFalse(Files.exists(below));
    }

    @Test
    void aWritableDirectoryPassesAndKeepsNoProbe() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("out"));
        OutputLocation.check(out.toString(), "Setting 'output' in run.yaml", null);
        OutputLocation.check(out.resolve("new").toString(), "Setting 'output' in run.yaml", null);
        try (var files = Files.list(out)) {
            assertEquals(0, files.count(), "the write probe is deleted");
        }
        assertFalse(Files.exists(out.resolve("new")), "the check creates no directory");
    }

    @Test
    void aMode555DirectoryPassesExactlyWhenThisProcessCanWriteIt() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("r-x"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
        boolean writes;
        try {
            Files.delete(Files.createFile(dir.resolve("x")));
            writes = true;   // root
        } catch (java.io.IOException e) {
            writes = false;
        }
        boolean passes;
        try {
            OutputLocation.check(dir.toString(), "--out", null);
            passes = true;
        } catch (EvocompressException e) {
            assertTrue(e.getMessage().contains("--out is " + dir) && e.getMessage().contains("not writable"), e.getMessage());
            passes = false;
        }
        assertEquals(writes, passes);
    }
}

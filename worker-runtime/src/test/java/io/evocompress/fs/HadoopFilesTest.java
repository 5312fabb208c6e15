package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Local locations turned into Hadoop paths, and atomic directories written through them. */
class HadoopFilesTest {
    @TempDir
    java.nio.file.Path tmp;

    @Test
    void existingLocalDirectoryKeepsItsNameAndParent() throws IOException {
        java.nio.file.Path dir = Files.createDirectory(tmp.resolve("ckpt"));
        Path p = HadoopFiles.path(dir.toString());
        // java.nio's toUri() ends an existing directory with '/': the Hadoop path must not.
        assertEquals("file:" + dir, p.toString());
        assertEquals("ckpt", p.getName());
        assertEquals("file:" + tmp, p.getParent().toString());
    }

    @Test
    void plainPathsBecomeAbsoluteFileUrisAndSchemesAreKept() throws IOException {
        java.nio.file.Path spaced = Files.createDirectory(tmp.resolve("a b%20c"));
        Path p = HadoopFiles.path(spaced.toString());
        assertEquals("a b%20c", p.getName());
        assertEquals(spaced.toString(), p.toUri().getPath());
        assertEquals("file", p.toUri().getScheme());

        assertEquals("hdfs://nn:8020/models/x", HadoopFiles.path("hdfs://nn:8020/models/x/").toString());
        Path relative = HadoopFiles.path("some/rel");
        assertEquals(java.nio.file.Path.of("some/rel").toAbsolutePath().toString(), relative.toUri().getPath());

        EvocompressException e = assertThrows(EvocompressException.class, () -> HadoopFiles.path(" "));
        assertTrue(e.getMessage().startsWith("Empty path"), e.getMessage());
    }

    @Test
    void overwritingAnExistingLocalDirectoryReplacesIt() throws IOException {
        java.nio.file.Path dir = Files.createDirectory(tmp.resolve("out"));
        Files.writeString(dir.resolve("old.txt"), "old");
        Path target = HadoopFiles.path(dir.toString());
        FileSystem fs = HadoopFiles.fileSystem(target, HadoopFiles.defaultConf());
        try (AtomicDirectory out = AtomicDirectory.create(fs, target, true)) {
            assertEquals("file:" + tmp, out.dir().getParent().toString(), "temporary directory is a sibling");
            Files.writeString(java.nio.file.Path.of(out.resolve("new.txt").toUri()), "new");
            out.commit();
        }
        assertEquals("new", Files.readString(dir.resolve("new.txt")));
        assertFalse(Files.exists(dir.resolve("old.txt")));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "only the output is left in its parent");
        }
    }
}

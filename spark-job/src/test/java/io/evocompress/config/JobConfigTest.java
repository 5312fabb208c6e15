package io.evocompress.config;

import io.evocompress.EvocompressException;
import io.evocompress.fs.HadoopFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JobConfigTest {
    @TempDir
    Path dir;

    private JobConfig load(String yaml, String... sets) throws Exception {
        Path file = dir.resolve("job.yaml");
        Files.writeString(file, yaml);
        return JobConfig.load(file.toString(), List.of(sets), HadoopFiles.defaultConf());
    }

    @Test
    void overridesByDottedKeyWithYamlScalars() throws Exception {
        JobConfig c = load("model: a\nsearch:\n  generations: 10\n  stages: [[8, 2048], [1, 8192]]\n",
            "search.generations=25", "model=hdfs://nn/m", "search.fitness.kind=kl", "target=0.7");
        assertEquals(25, c.integer("search.generations"));
        assertEquals("hdfs://nn/m", c.string("model"));
        assertEquals("kl", c.string("search.fitness.kind"));
        assertEquals(0.7, c.number("target"), 0);
        assertEquals(2, c.list("search.stages").size());
        assertEquals(8192, c.list("search.stages").get(1).get(1).asInt());
        assertEquals(7, c.intOr("search.offspring", 7));
        assertFalse(c.has("missing"));
    }

    @Test
    void aDuplicateKeyIsAnErrorNotTheLastOneWins() throws Exception {
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> load("database:\n  target: 0.5\n  max-level: 8\n  target: 0.7\n"));
        assertTrue(e.getMessage().contains("job.yaml") && e.getMessage().contains("Duplicate")
            && e.getMessage().contains("'target'") && e.getMessage().contains("line 4"), e.getMessage());
        EvocompressException top = assertThrows(EvocompressException.class, () -> load("model: a\noutput: b\nmodel: c\n"));
        assertTrue(top.getMessage().contains("'model'"), top.getMessage());
    }

    @Test
    void errorsNameTheSettingAndTheFile() throws Exception {
        JobConfig c = load("search:\n  generations: many\n");
        EvocompressException e = assertThrows(EvocompressException.class, () -> c.integer("search.generations"));
        assertTrue(e.getMessage().contains("search.generations") && e.getMessage().contains("job.yaml"), e.getMessage());
        EvocompressException missing = assertThrows(EvocompressException.class, () -> c.string("model"));
        assertTrue(missing.getMessage().contains("--set model=VALUE"), missing.getMessage());
        assertThrows(EvocompressException.class, () -> load("search: [1, 2\n"));
        assertThrows(EvocompressException.class, () -> load("- a\n- b\n"));
    }

    @Test
    void unknownSettingsAreRejected() throws Exception {
        JobConfig c = load("model: a\nsearch:\n  generatoins: 3\nspark:\n  anything: 1\n");
        EvocompressException e = assertThrows(EvocompressException.class,
            () -> c.requireOnly(Set.of("model", "search.generations", "spark.*")));
        assertTrue(e.getMessage().contains("search.generatoins"), e.getMessage());
        load("model: a\nspark:\n  x: 1\n").requireOnly(Set.of("model", "spark.*"));
    }
}

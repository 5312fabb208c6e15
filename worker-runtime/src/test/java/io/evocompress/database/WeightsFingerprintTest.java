package io.evocompress.database;

import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import io.evocompress.PrefixlessCheckpoints;
import io.evocompress.checkpoint.CheckpointReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The weights fingerprint on copies of stories260K: equal for equal weights wherever they live,
 * different after a change to a small tensor, to a sampled window of a large one (the 131072-byte
 * embedding, read as 16 windows of 4 KiB), to a tensor's dtype or name; equal for a copy saved without
 * the base model's prefix; and, as documented, blind to a change between the windows of a large tensor.
 */
class WeightsFingerprintTest {
    @TempDir
    Path tmp;

    private static String fingerprint(Path dir) {
        try (CheckpointReader r = CheckpointReader.open(dir.toString())) {
            return WeightsFingerprint.of(r);
        }
    }

    private Path copy(String name) {
        return BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve(name));
    }

    @Test
    void followsTheWeightsNotTheirLocation() {
        String original = fingerprint(Fixtures.stories260k());
        assertEquals(original, fingerprint(copy("same")));

        Path small = copy("small");
        BadFiles.setF32(small.resolve("model.safetensors"), "model.layers.4.mlp.down_proj.weight", 5000, 0.5f);
        assertNotEquals(original, fingerprint(small), "a change in a tensor hashed whole");

        Path window = copy("window");
        BadFiles.setF32(window.resolve("model.safetensors"), "model.embed_tokens.weight", 32767, 0.5f); // last float
        assertNotEquals(original, fingerprint(window), "a change in the last window of a large tensor");

        Path renamed = copy("renamed");
        BadFiles.editHeader(renamed.resolve("model.safetensors"), h -> h.set("model.norm.weight.x", h.remove("model.norm.weight")));
        assertNotEquals(original, fingerprint(renamed), "a renamed tensor");
        assertEquals(original, fingerprint(PrefixlessCheckpoints.copy(Fixtures.stories260k(), tmp.resolve("prefixless"))),
            "the same weights saved without the base model's prefix (the same full names)");

        Path between = copy("between");
        // byte 6000 of the embedding lies between window 0 [0, 4096) and window 1 [8465, 12561)
        BadFiles.setF32(between.resolve("model.safetensors"), "model.embed_tokens.weight", 1500, 0.5f);
        assertEquals(original, fingerprint(between), "a change between windows is not seen (documented)");
    }
}

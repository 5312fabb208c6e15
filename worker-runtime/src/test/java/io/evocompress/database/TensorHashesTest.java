package io.evocompress.database;

import io.evocompress.BadFiles;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hash of what a unit's read reads: the SHA-256 of the checkpoint tensor's stored bytes (computed
 * here from the header's offsets), for a fused tensor (tiny-phi3's qkv_proj) the fused tensor's, with the
 * values {@link TensorLayout#readUnit} gives; a recorded hash that differs is an error naming the tensor,
 * the file and the database.
 */
class TensorHashesTest {
    @Test
    void aFusedPartHashesTheFusedTensorItIsCutFrom() {
        Path dir = Fixtures.model("tiny-phi3");
        String fused = "model.layers.1.self_attn.qkv_proj.weight";
        String expected = VariantStore.sha256(BadFiles.tensorBytes(dir.resolve("model.safetensors"), fused));
        try (CheckpointReader r = CheckpointReader.open(dir.toString())) {
            TensorLayout layout = TensorLayout.of(ModelLoader.config(r), r);
            assertEquals(3, layout.parts(fused).size());
            for (String part : layout.parts(fused)) {
                TensorHashes.Read read = TensorHashes.readUnit(r, part);
                assertArrayEquals(TensorLayout.readUnit(r, part), read.values(), part);
                assertEquals(Map.of(fused, expected), read.sha256(), part);
            }
        }
    }

    @Test
    void theTensorsNoLayerRecordHoldsAreHashedWholeFromTheirStoredBytes() {
        Path dir = Fixtures.stories260k();
        String layer = "model.layers.3.mlp.down_proj.weight";
        try (CheckpointReader r = CheckpointReader.open(dir.toString())) {
            Map<String, String> others = TensorHashes.unrecorded(r, Map.of(layer, "0".repeat(64)));
            assertEquals(r.tensorFiles().size() - 1, others.size());
            assertTrue(!others.containsKey(layer) && others.containsKey("model.embed_tokens.weight"), others.toString());
            for (Map.Entry<String, String> e : others.entrySet()) {
                assertEquals(VariantStore.sha256(BadFiles.tensorBytes(dir.resolve("model.safetensors"), e.getKey())),
                    e.getValue(), e.getKey());
            }
        }
    }

    @Test
    void aDifferentRecordedHashNamesTheTensorTheFileAndTheDatabase() {
        Path dir = Fixtures.stories260k();
        String tensor = "model.layers.3.mlp.down_proj.weight";
        try (CheckpointReader r = CheckpointReader.open(dir.toString())) {
            TensorHashes.Read read = TensorHashes.readUnit(r, tensor);
            String actual = VariantStore.sha256(BadFiles.tensorBytes(dir.resolve("model.safetensors"), tensor));
            assertEquals(Map.of(tensor, actual), read.sha256());
            TensorHashes.verify(read.sha256(), Map.of(tensor, actual), r, "/db");
            TensorHashes.verify(read.sha256(), Map.of(), r, "/db");   // nothing recorded (an older database): passes
            String other = "0".repeat(64);
            EvocompressException e = assertThrows(EvocompressException.class,
                () -> TensorHashes.verify(read.sha256(), Map.of(tensor, other), r, "/runs/db"));
            assertTrue(e.getMessage().startsWith("Tensor '" + tensor + "' of "), e.getMessage());
            assertTrue(e.getMessage().contains(dir.resolve("model.safetensors") + " has SHA-256 " + actual.substring(0, 16)),
                e.getMessage());
            assertTrue(e.getMessage().contains("the database /runs/db was built from that tensor with SHA-256 "
                + other.substring(0, 16)) && e.getMessage().contains("Delete /runs/db"), e.getMessage());
        }
    }
}

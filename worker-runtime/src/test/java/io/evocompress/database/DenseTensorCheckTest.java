package io.evocompress.database;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.BadFiles;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.StreamedLm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dense model a search's candidate workers load is checked against the tensor hashes a database
 * recorded: resident ({@link ModelLoader#load} through {@link DenseTensorCheck#reader}) and streamed
 * ({@link StreamedLm}), including a tensor the host cache already holds from an unhashed read. One value
 * of stories260K's q_proj of block 1 changed: every path fails naming the tensor, the file and the
 * database; the unchanged checkpoint loads the same weights as without the check.
 */
class DenseTensorCheckTest {
    private static final String TENSOR = "model.layers.1.self_attn.q_proj.weight";

    @TempDir
    Path tmp;

    @Test
    void aChangedTensorFailsWhereverTheDenseModelReadsItAndTheSameWeightsPass() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        Map<String, String> recorded = Map.of(TENSOR, VariantStore.sha256(BadFiles.tensorBytes(weights, TENSOR)));
        DenseTensorCheck check = DenseTensorCheck.of(recorded, "/runs/db");
        float[] plain;
        try (CheckpointReader r = CheckpointReader.open(model.toString());
             CausalLm lm = ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, check)) {
            plain = r.readFloat(TENSOR);
            assertEquals(5, lm.numBlocks());
            assertArrayEquals(plain, check.reader(r).apply(TENSOR));   // from the memo: the same values
        }
        // streamed, the tensor already in the host cache from an unhashed read (as a Hessian pass leaves it)
        HostWeightCache cache = new HostWeightCache(1L << 30);
        try (StreamedLm lm = StreamedLm.open(model.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32, cache)) {
            lm.block(1).close();
        }

        // one value changed; the file's length and modification time kept, so the host cache's key still holds
        // the old values, and this JVM's memo of hashes forgotten: the cache hit is read once more, hashed
        float[] changed = plain.clone();
        changed[100] += 0.25f;
        java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(weights);
        BadFiles.setF32(weights, TENSOR, 100, changed[100]);
        Files.setLastModifiedTime(weights, mtime);
        DenseTensorCheck.forget();
        DenseTensorCheck again = DenseTensorCheck.of(recorded, "/runs/db");   // a check lives for one load or one task
        HostWeightCache fresh = new HostWeightCache(1L << 30);
        for (HostWeightCache c : new HostWeightCache[] {cache, fresh}) {
            try (StreamedLm lm = StreamedLm.open(model.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32, c,
                    again)) {
                lm.block(0).close();   // block 0 holds no recorded tensor
                assertMismatch(weights, assertThrows(EvocompressException.class, () -> lm.block(1).close()));
            }
        }
        try (CheckpointReader r = CheckpointReader.open(model.toString())) {
            assertMismatch(weights, assertThrows(EvocompressException.class,
                () -> ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, again).close()));
            // without a record for the tensor (an older database, another tensor's record) it loads as it is
            DenseTensorCheck other = DenseTensorCheck.of(Map.of("model.layers.0.self_attn.q_proj.weight", "0".repeat(64)), "/db");
            assertArrayEquals(changed, other.reader(r).apply(TENSOR));
        }
        DenseTensorCheck.forget();
    }

    /**
     * Every tensor of each family's checkpoint (OPT's biases and learned positions, BLOOM's embedding norm,
     * Phi-3's fused qkv and gate_up) is checked by the resident load under the name its hash is recorded by:
     * with all hashes right it loads; with any one wrong it fails naming that tensor.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"tiny-opt", "tiny-bloom", "tiny-phi3"})
    void everyStoredTensorIsCheckedUnderItsRecordedName(String fixture) {
        try (CheckpointReader r = CheckpointReader.open(Fixtures.model(fixture).toString())) {
            Map<String, String> all = TensorHashes.unrecorded(r, Map.of());
            ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, DenseTensorCheck.of(all, "/db")).close();
            everyWrongHashFails(fixture, r, all);
            // the embedding, the untied head and the larger unfused weights read in row slices, hashed slice by
            // slice: the same hashes (from the build's chunked hash of the stored bytes), the same failures
            DenseTensorCheck.forget();
            io.evocompress.model.SlicedTensorTest.withSlices(() -> {
                assertEquals(all, TensorHashes.unrecorded(r, Map.of()));
                ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, DenseTensorCheck.of(all, "/db")).close();
                everyWrongHashFails(fixture, r, all);
                return null;
            });
            DenseTensorCheck.forget();
        }
    }

    private static void everyWrongHashFails(String fixture, CheckpointReader r, Map<String, String> all) {
        for (String name : all.keySet()) {
            java.util.HashMap<String, String> wrong = new java.util.HashMap<>(all);
            wrong.put(name, "0".repeat(64));
            EvocompressException e = assertThrows(EvocompressException.class,
                () -> ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, DenseTensorCheck.of(wrong, "/db")).close(),
                fixture + ": " + name);
            assertTrue(e.getMessage().startsWith("Tensor '" + name + "' of "), e.getMessage());
        }
    }

    /**
     * stories260K's tied 512 x 64 embedding read in 4 row slices (as BLOOM-176B's is in production), one value
     * of its third slice changed: the resident load and the streamed embedding and head stages fail naming
     * it, also where the host cache holds the slices from before the change; unchanged, they load.
     */
    @Test
    void aChangedEmbeddingValueFailsWhenTheEmbeddingIsReadInSlices() {
        String embed = "model.embed_tokens.weight";
        Path model = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        Map<String, String> recorded = Map.of(embed, VariantStore.sha256(BadFiles.tensorBytes(weights, embed)));
        DenseTensorCheck.forget();
        io.evocompress.model.SlicedTensorTest.withSlices(() -> {
            HostWeightCache cache = new HostWeightCache(1L << 30);
            try (CheckpointReader r = CheckpointReader.open(model.toString())) {
                ModelLoader.load(r, Device.cpu(), DataType.FLOAT32, DenseTensorCheck.of(recorded, "/runs/db")).close();
            }
            try (StreamedLm lm = StreamedLm.open(model.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32,
                    cache, DenseTensorCheck.of(recorded, "/runs/db"))) {
                lm.embedding().close();
                lm.head().close();
            }
            try {
                java.nio.file.attribute.FileTime mtime = Files.getLastModifiedTime(weights);
                BadFiles.setF32(weights, embed, 2L * 156 * 64 + 7, 0.5f);   // row 319, in the third slice
                Files.setLastModifiedTime(weights, mtime);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            DenseTensorCheck.forget();
            try (CheckpointReader r = CheckpointReader.open(model.toString())) {
                assertMismatch(weights, embed, assertThrows(EvocompressException.class, () -> ModelLoader.load(r, Device.cpu(),
                    DataType.FLOAT32, DenseTensorCheck.of(recorded, "/runs/db")).close()));
            }
            for (HostWeightCache c : new HostWeightCache[] {cache, new HostWeightCache(0)}) {
                DenseTensorCheck.forget();
                try (StreamedLm lm = StreamedLm.open(model.toString(), HadoopFiles.defaultConf(), Device.cpu(),
                        DataType.FLOAT32, c, DenseTensorCheck.of(recorded, "/runs/db"))) {
                    assertMismatch(weights, embed, assertThrows(EvocompressException.class, () -> lm.embedding().close()));
                    assertMismatch(weights, embed, assertThrows(EvocompressException.class, () -> lm.head().close()));
                }
            }
            return null;
        });
        DenseTensorCheck.forget();
    }

    private static void assertMismatch(Path weights, EvocompressException e) {
        assertMismatch(weights, TENSOR, e);
    }

    private static void assertMismatch(Path weights, String tensor, EvocompressException e) {
        assertTrue(e.getMessage().startsWith("Tensor '" + tensor + "' of file:" + weights + " has SHA-256 "), e.getMessage());
        assertTrue(e.getMessage().contains("the database /runs/db was built from that tensor")
            && e.getMessage().contains("Delete /runs/db") && e.getMessage().contains("database.path"), e.getMessage());
    }
}

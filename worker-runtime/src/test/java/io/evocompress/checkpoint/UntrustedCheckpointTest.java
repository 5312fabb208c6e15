package io.evocompress.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.BadFiles;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints and token files from a hub are untrusted: each broken copy of stories260K (5 blocks,
 * vocab 512) that used to be read into a wrong number is refused with a message naming the file and
 * the problem.
 */
class UntrustedCheckpointTest {
    @TempDir
    Path tmp;

    private Path dir;
    private Path weights;

    @BeforeEach
    void copyFixture() {
        dir = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("ckpt"));
        weights = dir.resolve("model.safetensors");
    }

    private static void load(Path dir) {
        try (CheckpointReader reader = CheckpointReader.open(dir.toString());
             CausalLm model = ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32)) {
            throw new AssertionError("loaded a broken checkpoint with " + model.numBlocks() + " blocks");
        }
    }

    private static String failure(Executable action, String... parts) {
        EvocompressException e = assertThrows(EvocompressException.class, action);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
        }
        return e.getMessage();
    }

    @Test
    void overlappingTensorOffsetsAreRefusedWhenOpened() {
        // both norms are F32 [64] (256 bytes): the second is made to read the first's bytes
        BadFiles.overlapOffsets(weights, "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight");
        failure(() -> CheckpointReader.open(dir.toString()).close(), weights.toString(), "overlap",
            "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight", "[131072, 131328)");
    }

    @Test
    void nanWeightIsRefusedWhereItIsRead() {
        BadFiles.setF32(weights, "model.layers.2.mlp.up_proj.weight", 1234, Float.NaN);
        failure(() -> load(dir), weights.toString(), "tensor 'model.layers.2.mlp.up_proj.weight'", "NaN",
            "at element 1234");
        try (CheckpointReader reader = CheckpointReader.open(dir.toString())) {
            failure(() -> reader.readFloat("model.layers.2.mlp.up_proj.weight"), "NaN");
        }
    }

    @Test
    void infiniteWeightIsRefused() {
        BadFiles.setF32(weights, "model.norm.weight", 3, Float.NEGATIVE_INFINITY);
        failure(() -> load(dir), "tensor 'model.norm.weight'", "-Infinity", "at element 3");
    }

    @Test
    void configNamingFewerBlocksThanTheFileHolds() {
        BadFiles.editConfig(dir, "num_hidden_layers", "4");
        failure(() -> load(dir), dir + "/config.json", "num_hidden_layers: 4", "hold 5 decoder blocks",
            "model.layers.0 to model.layers.4");
    }

    @Test
    void hugeBlockCountFailsOnTheIndexBeforeAnythingIsSizedByIt() {
        // 10^8 blocks used to build per-block lists (out of memory after a minute); 10^6 took 57 s
        for (String claimed : new String[] {"100000000", "1000000", "2147483647"}) {
            BadFiles.editConfig(dir, "num_hidden_layers", claimed);
            failure(() -> load(dir), "num_hidden_layers: " + claimed, "hold 5 decoder blocks");
        }
    }

    @Test
    void missingMiddleBlock() {
        BadFiles.editHeader(weights, h -> {
            for (String name : h.properties().stream().map(java.util.Map.Entry::getKey).toList()) {
                if (name.startsWith("model.layers.2.")) {
                    h.remove(name);
                }
            }
        });
        failure(() -> load(dir), "lacks block 2", "incomplete");
    }

    @Test
    void tokenIdsOfShape3By100AreNotFlattened() {
        Path file = BadFiles.tokenIds(tmp.resolve("batch.safetensors"), new long[] {3, 100}, BadFiles.ids(300, 512));
        failure(() -> TokenIdsFile.read(fs(), hadoop(file)), file.toString(), "shape [3, 100]", "one sequence, shape [T] or [1, T]");
    }

    @Test
    void oneSequenceOfShape1ByTIsRead() {
        long[] ids = BadFiles.ids(10, 512);
        Path file = BadFiles.tokenIds(tmp.resolve("one.safetensors"), new long[] {1, 10}, ids);
        int[] read = TokenIdsFile.read(fs(), hadoop(file));
        assertArrayEquals(java.util.Arrays.stream(ids).mapToInt(i -> (int) i).toArray(), read);
    }

    @Test
    void aSingleTokenScoresNothingAndIsRefused() {
        Path file = BadFiles.tokenIds(tmp.resolve("single.safetensors"), new long[] {1}, 5);
        failure(() -> TokenIdsFile.read(fs(), hadoop(file)), file.toString(), "holds 1 token id(s)", "at least 2");
    }

    @Test
    void tokenIdBeyondIntRangeIsAMessage() {
        Path file = BadFiles.tokenIds(tmp.resolve("big.safetensors"), new long[] {3}, 1, 1L << 40, 2);
        failure(() -> TokenIdsFile.read(fs(), hadoop(file)), file.toString(), "token id 1099511627776 at position 1",
            "not a vocabulary index");
        Path negative = BadFiles.tokenIds(tmp.resolve("neg.safetensors"), new long[] {3}, 1, -3, 2);
        failure(() -> TokenIdsFile.read(fs(), hadoop(negative)), "token id -3 at position 1");
    }

    @Test
    void floatTokenIdsAreRefused() {
        // a checkpoint is a safetensors file too, but its tensors are not token ids
        failure(() -> TokenIdsFile.read(fs(), hadoop(weights)), weights.toString(), "holds no integer tensor 'token_ids'");
    }

    @Test
    void safetensorsOrBinaryFilesAreNotReadAsText() throws Exception {
        Path ids = BadFiles.tokenIds(tmp.resolve("calib.safetensors"), new long[] {4}, 1, 2, 3, 4);
        failure(() -> TextDocuments.read(fs(), hadoop(ids)), ids.toString(), "is a safetensors file", "text");
        Path binary = tmp.resolve("weights.txt");
        Files.copy(weights, binary);
        failure(() -> TextDocuments.read(fs(), hadoop(binary)), binary.toString(), "is not text", "NUL byte");
    }

    private static FileSystem fs() {
        return HadoopFiles.fileSystem(HadoopFiles.path("file:///"), HadoopFiles.defaultConf());
    }

    private static org.apache.hadoop.fs.Path hadoop(Path p) {
        return HadoopFiles.path(p.toString());
    }
}

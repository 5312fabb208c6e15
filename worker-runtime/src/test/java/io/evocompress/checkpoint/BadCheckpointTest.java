package io.evocompress.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;
import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Broken copies of stories260K: every failure is an {@link EvocompressException} whose message names
 * the file and says what is wrong with it.
 */
class BadCheckpointTest {
    private static final long MODEL_BYTES = 1_044_992; // stories260K/model.safetensors

    @TempDir
    java.nio.file.Path tmp;

    private java.nio.file.Path source;
    private java.nio.file.Path dir;

    @BeforeEach
    void copyFixture() throws IOException {
        source = Fixtures.stories260k();
        dir = Files.createDirectory(tmp.resolve("ckpt"));
        for (String name : new String[] {"config.json", "model.safetensors", "tokenizer.json"}) {
            // copied by content: the fixtures are read-only and the copies get corrupted
            Files.write(dir.resolve(name), Files.readAllBytes(source.resolve(name)));
        }
    }

    /** Opens the checkpoint at {@code dir} and loads it: what a job does with a user's model. */
    private static void load(java.nio.file.Path dir) {
        try (CheckpointReader reader = CheckpointReader.open(dir.toString());
             CausalLm model = ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32)) {
            throw new AssertionError("loaded a broken checkpoint with " + model.numBlocks() + " blocks");
        }
    }

    private static String failure(Executable action, String... expectedParts) {
        EvocompressException e = assertThrows(EvocompressException.class, action);
        String message = e.getMessage();
        for (String part : expectedParts) {
            assertTrue(message.contains(part), "message lacks '" + part + "': " + message);
        }
        return message;
    }

    private void editConfig(String from, String to) throws IOException {
        java.nio.file.Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertTrue(text.contains(from), "fixture config.json changed: no " + from);
        Files.writeString(config, text.replace(from, to));
    }

    @Test
    void missingConfigJson() throws IOException {
        Files.delete(dir.resolve("config.json"));
        failure(() -> load(dir), "Missing model config", "needs config.json", dir + "/config.json", "does not exist");
    }

    @Test
    void missingWeights() throws IOException {
        Files.delete(dir.resolve("model.safetensors"));
        failure(() -> load(dir), "has no weights", dir.toString(), "model.safetensors", "model.safetensors.index.json");
    }

    @Test
    void unknownModelType() throws IOException {
        editConfig("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"");
        String message = failure(() -> load(dir), dir + "/config.json", "unknown model_type 'gpt2'",
            "Supported model types: bloom, llama, mistral, opt, phi3, qwen2.");
        assertTrue(!message.contains("//config.json"), "doubled slash in " + message);
    }

    @Test
    void missingTensor() {
        String dropped = "model.layers.3.mlp.up_proj.weight";
        java.nio.file.Path subset = tmp.resolve("subset");
        try (CheckpointReader original = CheckpointReader.open(source.toString())) {
            Path out = HadoopFiles.path(subset.toString());
            new CheckpointWriter(DType.F32, 1, false).write(original.fileSystem(), out, original.configJson(),
                ModelFixtures.tensors(original, name -> !name.equals(dropped)), original.fileSystem(), original.dir());
        }
        failure(() -> load(subset), "Checkpoint file:" + subset, "is missing tensor '" + dropped + "'",
            "expected shape [172, 64]");
    }

    @Test
    void missingShardOfAShardedCheckpoint() throws IOException {
        java.nio.file.Path sharded = tmp.resolve("sharded");
        try (CheckpointReader original = CheckpointReader.open(source.toString())) {
            new CheckpointWriter(DType.F32, 2, false).write(original.fileSystem(), HadoopFiles.path(sharded.toString()),
                original.configJson(), ModelFixtures.tensors(original), original.fileSystem(), original.dir());
        }
        java.nio.file.Path shard = sharded.resolve("model-00002-of-00002.safetensors");
        Files.delete(shard);
        failure(() -> load(sharded), "Missing weights file", shard.toString(), "does not exist");
    }

    @Test
    void tensorShapeDisagreesWithConfig() throws IOException {
        editConfig("\"intermediate_size\": 172", "\"intermediate_size\": 100");
        failure(() -> load(dir), dir + "/model.safetensors",
            "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [172, 64] but config.json implies [100, 64]");
    }

    @Test
    void truncatedFile() throws IOException {
        java.nio.file.Path file = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(MODEL_BYTES - 1000);
        }
        failure(() -> load(dir), file.toString(), "is truncated", "ends at data byte",
            "but the file holds only", "Copy the file again");
    }

    @Test
    void garbageHeaderJson() throws IOException {
        java.nio.file.Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        byte[] garbage = "#!garbage{{{not json".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(garbage, 0, bytes, 8, garbage.length); // the header JSON starts after 8 bytes
        Files.write(file, bytes);
        failure(() -> load(dir), file.toString(), "has a corrupt header", "not valid JSON", "Re-download or re-export");
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        java.nio.file.Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        long claimed = bytes.length; // header + 8 > file
        System.arraycopy(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(claimed).array(), 0, bytes, 0, 8);
        Files.write(file, bytes);
        failure(() -> load(dir), file.toString(), "has a corrupt header",
            "header length field says " + claimed + " bytes but the file holds " + bytes.length + " bytes");
    }

    @Test
    void tensorOffsetsDisagreeWithShape() throws IOException {
        // Rewrite one tensor's shape in place (same byte count in the header): [64] -> [65].
        java.nio.file.Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, headerLength, StandardCharsets.US_ASCII);
        String entry = "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]";
        int at = header.indexOf(entry);
        assertTrue(at >= 0, "fixture header layout changed: " + header.substring(0, 200));
        byte[] edited = entry.replace("[64]", "[65]").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(edited, 0, bytes, 8 + at, edited.length);
        Files.write(file, bytes);
        failure(() -> load(dir), file.toString(), "has a corrupt header", "tensor 'model.norm.weight'",
            "with shape [65] and dtype F32 needs 260 bytes but its offsets", "span 256");
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        java.nio.file.Path file = dir.resolve("model.safetensors");
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), 5));
        failure(() -> load(dir), file.toString(), "is truncated or not a safetensors file", "holds 5 bytes");
    }
}

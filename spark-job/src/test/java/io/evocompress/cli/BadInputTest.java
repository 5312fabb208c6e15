package io.evocompress.cli;

import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.spark.SparkContexts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input through the command line, in process: each case a real corrupted file or setting,
 * asserting the exit status (1 bad input, 2 bad command line), that the message names the file or
 * setting, that no stack trace is printed, that nothing that looks complete is written, and, where the
 * failure must come before any Spark work, that Spark never started (no progress line of a Spark job,
 * no Spark scratch directory under the output).
 */
class BadInputTest {
    @TempDir
    Path tmp;

    private static final String TEXT = "tinystories_train_head.txt";

    /** Runs the command line; asserts the status, the message parts, and that there is no stack trace. */
    static MainTest.Run fails(int status, List<String> argv, String... parts) {
        MainTest.Run r = MainTest.run(argv.toArray(new String[0]));
        assertEquals(status, r.status(), "exit status of " + argv + ":\n" + r.err());
        for (String part : parts) {
            assertTrue(r.err().contains(part), "message lacks '" + part + "':\n" + r.err());
        }
        assertNoStackTrace(r.err());
        return r;
    }

    static void assertNoStackTrace(String err) {
        assertFalse(err.contains("\tat ") || err.contains("Caused by:") || err.contains("Exception in"), "a stack trace:\n" + err);
    }

    static void assertNoSparkJob(MainTest.Run r, Path output) {
        assertFalse(r.err().contains("tasks ") || r.err().contains("Spark master"), "a Spark job ran:\n" + r.err());
        if (output != null) {
            assertFalse(Files.exists(output.resolve(SparkContexts.SCRATCH)), "Spark started for " + output);
        }
    }

    private List<String> buildDb(Path output, String... sets) {
        List<String> a = new ArrayList<>(List.of("build-db", "--config", SearchCommandTest.conf("build-db-sparsity.yaml").toString(),
            "--set", "model=" + Fixtures.stories260k(), "--set", "output=" + output,
            "--set", "calibration.data=" + Fixtures.text(TEXT),
            "--set", "calibration.sequences=4", "--set", "calibration.seq-len=64", "--set", "calibration.shards=2"));
        for (String s : sets) {
            a.add("--set");
            a.add(s);
        }
        return a;
    }

    /** A search shrunk as SearchCommandTest shrinks it. */
    static List<String> search(String config, Path output, String... sets) {
        List<String> a = new ArrayList<>(List.of("search", "--config", SearchCommandTest.conf(config).toString(),
            "--set", "model=" + Fixtures.stories260k(), "--set", "output=" + output,
            "--set", "calibration.data=" + Fixtures.text(TEXT),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "heldout.max-tokens=1024", "--set", "final.tokens=1024"));
        for (String s : sets) {
            a.add("--set");
            a.add(s);
        }
        return a;
    }

    private List<String> eval(Path model, Path data, String... extra) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", model.toString(), "--data", data.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    private Path brokenModel() {
        return BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("model"));
    }

    @Test
    void duplicateYamlKeyNamesTheFileAndTheKey() throws Exception {
        Path config = tmp.resolve("dup.yaml");
        Files.writeString(config, Files.readString(SearchCommandTest.conf("build-db-sparsity.yaml")) + "model: other\n");
        MainTest.Run r = fails(1, List.of("build-db", "--config", config.toString()), config.toString(), "Duplicate field 'model'");
        assertNoSparkJob(r, null);
    }

    @Test
    void outputThatIsARegularFileFailsBeforeAnySparkWork() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        MainTest.Run r = fails(1, buildDb(file), "Setting 'output'", file.toString(), "regular file");
        assertNoSparkJob(r, null);
        Path below = file.resolve("db");
        fails(1, buildDb(below), "Setting 'output'", "on the way to it is a regular file");
    }

    @Test
    void outputThatIsTheModelsDirectoryIsRefused() {
        Path model = brokenModel();
        List<String> argv = buildDb(model, "model=" + model);
        MainTest.Run r = fails(1, argv, "Setting 'output'", "the model's own directory");
        assertNoSparkJob(r, model);
        Path other = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("other-model"));
        fails(1, buildDb(other), "Setting 'output'", "holds a model checkpoint");
    }

    @Test
    void searchDatabasePathThatIsAFileIsNamed() throws Exception {
        Path file = Files.writeString(tmp.resolve("db-file"), "x");
        Path out = tmp.resolve("search");
        MainTest.Run r = fails(1, search("evopress-sparsity-70.yaml", out, "database.path=" + file),
            "Setting 'database.path'", "regular file");
        assertNoSparkJob(r, out);
    }

    @Test
    void unboundedMaxLevelIsRefusedNamingTheLimit() {
        Path out = tmp.resolve("db");
        MainTest.Run r = fails(1, buildDb(out, "database.max-level=100000"), "Setting 'database.max-level'",
            "at most 32", "2L+1 variant files per layer", "but was 100000");
        assertNoSparkJob(r, out);
        fails(1, buildDb(out, "calibration.shards=100000", "calibration.sequences=200000"), "calibration.shards", "at most 4096");
    }

    @Test
    void unknownDeviceIsABadCommandLine() {
        fails(2, eval(Fixtures.stories260k(), Fixtures.text(TEXT), "--device", "tpu"), "--device", "'tpu'", "--help");
        fails(2, eval(Fixtures.stories260k(), Fixtures.text(TEXT), "--dtype", "int3"), "--dtype", "'int3'");
    }

    @Test
    void tokenIdFilesThatAreNotOneScorableSequence() {
        Path batch = BadFiles.tokenIds(tmp.resolve("batch.safetensors"), new long[] {3, 100}, BadFiles.ids(300, 512));
        MainTest.Run r = fails(1, eval(Fixtures.stories260k(), batch), batch.toString(), "shape [3, 100]");
        assertNoSparkJob(r, null);
        Path single = BadFiles.tokenIds(tmp.resolve("single.safetensors"), new long[] {1}, 7);
        fails(1, eval(Fixtures.stories260k(), single), single.toString(), "at least 2");
        Path huge = BadFiles.tokenIds(tmp.resolve("huge.safetensors"), new long[] {3}, 1, 1L << 40, 2);
        fails(1, eval(Fixtures.stories260k(), huge), huge.toString(), "token id 1099511627776 at position 1");
        Path vocab = BadFiles.tokenIds(tmp.resolve("vocab.safetensors"), new long[] {3}, 1, 512, 2);
        fails(1, eval(Fixtures.stories260k(), vocab), "token id 512 at position 1", "vocabulary [0, 512)");
    }

    @Test
    void checkpointsThatDisagreeWithTheirConfigFailBeforeSpark() {
        Path model = brokenModel();
        BadFiles.editConfig(model, "num_hidden_layers", "4");
        MainTest.Run r = fails(1, eval(model, Fixtures.text(TEXT)), model + "/config.json", "num_hidden_layers: 4",
            "hold 5 decoder blocks");
        assertNoSparkJob(r, null);
        BadFiles.editConfig(model, "num_hidden_layers", "100000000");
        fails(1, eval(model, Fixtures.text(TEXT)), "num_hidden_layers: 100000000");
        BadFiles.editConfig(model, "num_hidden_layers", "5");
        BadFiles.overlapOffsets(model.resolve("model.safetensors"), "model.layers.1.input_layernorm.weight", "model.norm.weight");
        fails(1, eval(model, Fixtures.text(TEXT)), model + "/model.safetensors", "overlap");
    }

    @Test
    void nanWeightFailsInsideTheSparkTaskWithItsMessageAndNoStackTrace() {
        Path model = brokenModel();
        BadFiles.setF32(model.resolve("model.safetensors"), "model.layers.1.self_attn.q_proj.weight", 10, Float.NaN);
        fails(1, eval(model, Fixtures.text("tinystories_sample.txt"), "--seq-len", "64", "--max-tokens", "256"),
            "evocompress eval: error:", model + "/model.safetensors", "model.layers.1.self_attn.q_proj.weight", "NaN");
    }

    @Test
    void compressReadsTokenIdCalibrationDataAsTokensNotText() throws Exception {
        // the same tokens as a text file and as a token_ids file give the same compressed weights
        Path text = Fixtures.text(TEXT);
        int[] stream;
        var fs = HadoopFiles.fileSystem(HadoopFiles.path(text.toString()), HadoopFiles.defaultConf());
        try (TextTokenizer tokenizer = TextTokenizer.load(fs, HadoopFiles.path(Fixtures.stories260k().toString()))) {
            stream = TokenSequences.stream(tokenizer, TextDocuments.read(fs, HadoopFiles.path(text.toString())), 1, 0);
        }
        Path ids = BadFiles.tokenIds(tmp.resolve("calib.safetensors"), new long[] {stream.length},
            Arrays.stream(stream).asLongStream().toArray());
        byte[][] weights = new byte[2][];
        int i = 0;
        for (Path data : List.of(text, ids)) {
            Path out = tmp.resolve("compressed-" + i);
            MainTest.Run r = MainTest.run("compress", "--model", Fixtures.stories260k().toString(), "--method", "wanda",
                "--sparsity", "0.5", "--calibration-data", data.toString(), "--calibration-sequences", "4", "--seq-len", "64",
                "--out", out.toString());
            assertEquals(0, r.status(), r.err());
            weights[i++] = Files.readAllBytes(out.resolve("model.safetensors"));
        }
        assertArrayEquals(weights[0], weights[1], "token ids and their text calibrate identically");
    }

    @Test
    void resumeWithOtherSettingsIsRefusedNamingEveryDifference() throws Exception {
        Path out = tmp.resolve("depth");
        String[] common = {"search.stages=1@512", "search.offspring=4", "search.initial-candidates=4",
            "search.initial-tokens=512", "baselines=[shortgpt]"};
        List<String> first = search("evopress-depth-25.yaml", out, common);
        first.addAll(List.of("--set", "search.generations=2"));
        MainTest.Run r = MainTest.run(first.toArray(new String[0]));
        assertEquals(0, r.status(), r.err());
        byte[] result = Files.readAllBytes(out.resolve("result.json"));

        List<String> changed = new ArrayList<>(first);
        changed.addAll(List.of("--set", "search.offspring=8", "--set", "search.fitness=ppl", "--resume"));
        fails(1, changed, "--resume", out.toString(), "search.offspring (started with 4, now 8)",
            "search.fitness (started with unset, now \"ppl\")");
        List<String> shorter = new ArrayList<>(first);
        shorter.addAll(List.of("--set", "search.generations=1", "--resume"));
        fails(1, shorter, "already run 2 generations", "search.generations = 1");
        assertArrayEquals(result, Files.readAllBytes(out.resolve("result.json")), "a refused resume writes nothing");

        // the same settings, longer: a legitimate continuation (generations only say when to stop)
        List<String> longer = new ArrayList<>(first);
        longer.addAll(List.of("--set", "search.generations=3", "--resume"));
        MainTest.Run resumed = MainTest.run(longer.toArray(new String[0]));
        assertEquals(0, resumed.status(), resumed.err());
    }

    @Test
    void aDatabaseBuiltFromOtherWeightsIsNotReused() throws Exception {
        Path model = brokenModel();
        Path db = tmp.resolve("db");
        MainTest.Run built = MainTest.run(buildDb(db, "model=" + model, "database.max-level=1").toArray(new String[0]));
        assertEquals(0, built.status(), built.err());
        byte[] manifest = Files.readAllBytes(db.resolve("manifest.json"));
        assertTrue(new String(manifest, java.nio.charset.StandardCharsets.UTF_8).contains("\"weightsSha256\""));
        MainTest.Run again = MainTest.run(buildDb(db, "model=" + model, "database.max-level=1").toArray(new String[0]));
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("reusing it"), again.err());

        // a corrupt variant is named and rebuilt; a corrupt Hessian found on reuse is named and recomputed
        Path variant;
        try (var files = Files.list(db.resolve("model.layers.1.mlp.up_proj"))) {
            variant = files.filter(f -> f.getFileName().toString().endsWith(".bin")).sorted().findFirst().orElseThrow();
        }
        Path hessian = db.resolve("hessians").resolve("block-0").resolve("qkv.bin");
        for (Path f : List.of(variant, hessian)) {
            byte[] b = Files.readAllBytes(f);
            b[b.length / 2] ^= 0x40;
            Files.write(f, b);
        }
        MainTest.Run repaired = MainTest.run(buildDb(db, "model=" + model, "database.max-level=1").toArray(new String[0]));
        assertEquals(0, repaired.status(), repaired.err());
        assertTrue(repaired.err().contains(variant + " is corrupt") && repaired.err().contains(
            "rebuilding layer model.layers.1.mlp.up_proj"), repaired.err());
        assertTrue(repaired.err().contains("Hessian file file:" + hessian + " is corrupt"), repaired.err());
        assertArrayEquals(manifest, Files.readAllBytes(db.resolve("manifest.json")), "rebuilt exactly as before");

        // a "fine-tune": the same config.json, one weight changed (in the largest tensor, sampled by windows)
        BadFiles.setF32(model.resolve("model.safetensors"), "model.embed_tokens.weight", 0, 0.125f);
        fails(1, buildDb(db, "model=" + model, "database.max-level=1"), db.toString(), "another variant database");
        assertArrayEquals(manifest, Files.readAllBytes(db.resolve("manifest.json")), "the old database is left as it was");
        List<String> argv = search("evopress-sparsity-70.yaml", tmp.resolve("search"), "model=" + model,
            "database.path=" + db, "database.max-level=1", "calibration.sequences=4", "calibration.seq-len=64",
            "calibration.shards=2", "final.tokens=256");
        fails(1, argv, "database.path file:" + db, "other weights of this model");
    }

    @Test
    void aTaskFailureIsPrintedAsItsCausesOnOneLine() {
        Exception task = new org.apache.spark.SparkException("Job aborted due to stage failure: Task 0 ... \n\tat x.y(Z.java:1)",
            new java.io.UncheckedIOException("Cannot write file:/out/hessians/qkv.bin",
                new java.io.IOException("Parent path is not a directory: file:/out")));
        assertEquals("UncheckedIOException: Cannot write file:/out/hessians/qkv.bin; caused by IOException: Parent path is "
            + "not a directory: file:/out", Main.causeChain(task));
        // an EvocompressException that reached the driver only as text in Spark's message
        Exception remote = new org.apache.spark.SparkException("Job aborted: Lost task 0.0: "
            + "io.evocompress.EvocompressException: /m/model.safetensors tensor 'w' holds NaN at element 3\n\tat a.b(C.java:1)\n");
        assertEquals("/m/model.safetensors tensor 'w' holds NaN at element 3", Main.remoteMessage(remote));
    }

    /**
     * A "fine-tune" the weights fingerprint cannot see: one value of babyllama105's
     * model.layers.2.mlp.up_proj.weight (352 x 128 fp32, 180224 bytes, which the fingerprint samples as
     * 16 windows of 4 KiB, 11741 bytes apart) changed at byte 8000, between windows 0 and 1. The
     * database id stays the same, but the tensor's full SHA-256, recorded by the build task that read it,
     * does not: schedule reusing the database (its OWL baseline reads every dense weight, before its layer
     * tasks would), and a build-db resume that rebuilds that layer, both read the tensor again and fail
     * naming the tensor, the checkpoint file and the database.
     */
    @Test
    void aTensorChangedBetweenTheFingerprintsWindowsIsCaughtWhereItIsReadAgain() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.babyllama105(), tmp.resolve("baby"));
        Path weights = model.resolve("model.safetensors");
        Path db = tmp.resolve("db-baby");
        String tensor = "model.layers.2.mlp.up_proj.weight";
        List<String> build = new ArrayList<>(List.of("build-db", "--config", SearchCommandTest.conf("build-db-sparsity.yaml").toString(),
            "--set", "model=" + model, "--set", "output=" + db, "--set", "calibration.data=" + Fixtures.text(TEXT),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128", "--set", "calibration.shards=2",
            "--set", "database.max-level=0"));
        MainTest.Run built = MainTest.run(build.toArray(new String[0]));
        assertEquals(0, built.status(), built.err());
        // every layer's record holds the SHA-256 of its tensor's bytes as stored (computed here from the header's offsets)
        com.fasterxml.jackson.databind.JsonNode manifest = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(db.resolve("manifest.json").toFile());
        assertEquals(35, manifest.get("layers").size());
        for (com.fasterxml.jackson.databind.JsonNode layer : manifest.get("layers")) {
            String name = layer.get("name").asText() + ".weight";
            assertEquals(1, layer.get("tensorSha256").size(), name);
            assertEquals(io.evocompress.database.VariantStore.sha256(BadFiles.tensorBytes(weights, name)),
                layer.get("tensorSha256").get(name).asText(), name);
        }
        byte[] manifestBytes = Files.readAllBytes(db.resolve("manifest.json"));

        String before = fingerprint(model);
        float[] original;
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            original = r.readFloat(tensor);
        }
        assertEquals(352 * 128, original.length);
        BadFiles.setF32(weights, tensor, 2000, original[2000] + 0.25f);   // byte 8000: between windows [0, 4096) and [11741, ...)
        assertEquals(before, fingerprint(model), "the fingerprint does not see the change (the premise)");

        // schedule reuses the database whole (its id is unchanged), then reads every dense weight again
        Path scheduled = tmp.resolve("schedule-baby");
        List<String> schedule = List.of("schedule", "--config", SearchCommandTest.conf("schedule-70.yaml").toString(),
            "--set", "model=" + model, "--set", "output=" + scheduled, "--set", "database.path=" + db,
            "--set", "database.max-level=0", "--set", "calibration.data=" + Fixtures.text(TEXT),
            "--set", "calibration.sequences=16", "--set", "calibration.seq-len=128", "--set", "calibration.shards=2",
            "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "--set", "heldout.seq-len=128",
            "--set", "evaluation.tokens=2048");
        MainTest.Run reused = fails(1, schedule, "Tensor '" + tensor + "'", weights.toString(), db.toString(),
            "weights changed since the database was built", "Delete");
        assertTrue(reused.err().contains("database is complete and verifies: reusing it"), reused.err());
        assertFalse(Files.exists(scheduled.resolve("result.json")));

        // search reusing the database whole, without OWL: its candidate workers hash the tensor as they load the
        // dense model (DenseTensorCheck), in a Spark task, before any result
        Path searched = tmp.resolve("search-baby");
        MainTest.Run search = fails(1, search("evopress-sparsity-70.yaml", searched, "model=" + model, "database.path=" + db,
            "database.max-level=0", "calibration.shards=2", "baselines=[uniform]", "search.generations=1",
            "search.offspring=2", "search.stages=1@512", "search.initial-candidates=2", "search.initial-tokens=512"),
            "Tensor '" + tensor + "'", weights.toString(), db.toString(), "weights changed since the database was built",
            "Delete", "database.path");
        assertTrue(search.err().contains("database is complete and verifies: reusing it"), search.err());
        assertFalse(Files.exists(searched.resolve("result.json")));

        // build-db resume: the layer's variant damaged, so it is rebuilt, reading the changed tensor
        Path variant = db.resolve("model.layers.2.mlp.up_proj").resolve(io.evocompress.database.VariantStore.fileName(0));
        byte[] b = Files.readAllBytes(variant);
        b[b.length / 2] ^= 0x40;
        Files.write(variant, b);
        MainTest.Run resumed = fails(1, build, "Tensor '" + tensor + "'", weights.toString(), db.toString(), "Delete");
        assertTrue(resumed.err().contains("rebuilding layer model.layers.2.mlp.up_proj"), resumed.err());
        assertArrayEquals(manifestBytes, Files.readAllBytes(db.resolve("manifest.json")), "the database's manifest is left as it was");
    }

    private static String fingerprint(Path model) {
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            return io.evocompress.database.WeightsFingerprint.of(r);
        }
    }

    /** A directory that takes no files as build-db's output, search's output and database.path: one line, before any work. */
    @Test
    void unwritableOutputsFailBeforeAnyWork() {
        Path ro = BadFiles.unwritableDirectory(tmp);
        MainTest.Run r = fails(1, buildDb(ro), "Setting 'output'", ro + " is not writable");
        assertNoSparkJob(r, null);
        Path out = tmp.resolve("search-ro");
        r = fails(1, search("evopress-sparsity-70.yaml", out, "database.path=" + ro), "Setting 'database.path'",
            ro + " is not writable");
        assertNoSparkJob(r, out);
        r = fails(1, search("evopress-sparsity-70.yaml", ro, "database.path=" + tmp.resolve("db-ro")), "Setting 'output'",
            ro + " is not writable");
        assertNoSparkJob(r, null);
    }
}

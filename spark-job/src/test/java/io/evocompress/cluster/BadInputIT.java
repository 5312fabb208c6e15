package io.evocompress.cluster;

import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A table of bad inputs run through the packaged launcher ({@code deploy/evocompress}) as a user
 * would: real corrupted checkpoints, token files, text, configurations and command lines. Every row
 * must exit 1 (bad input) or 2 (bad command line) with a message naming the file or setting, print no
 * stack trace, leave no result that looks complete (no manifest.json or result.json in a fresh output),
 * and, unless marked as failing inside a task, fail before any Spark job (no "Spark master" progress
 * line, no Spark scratch directory under the output). The table is printed; docs/reliability.md lists its kinds.
 * It needs no cluster, so it runs beside the cluster ITs (the failsafe configuration in pom.xml).
 */
@Execution(ExecutionMode.CONCURRENT)
class BadInputIT {
    private static final File ROOT = ClusterFixture.ROOT;
    /**
     * The launcher's EVOCOMPRESS_JAVA_OPTS for short runs: the client JIT alone and the serial collector,
     * plus a class-data archive a first run writes and every case maps: a failing command then takes
     * about a sixth of the CPU time (user 0.98 s, against 2.0 s without the archive and 2.9 s with the
     * default JVM options, measured on the 2-core machine under load on 2026-12-01).
     */
    private static final String QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1";

    /** One row: what kind of input, what is wrong, the command, the expected status and message parts. */
    record Case(String kind, String what, int status, List<String> argv, List<String> parts, boolean inTask, Path output) {
    }

    @Test
    void everyBadInputFailsClearly() throws Exception {
        Path dir = Files.createDirectories(ROOT.toPath().resolve("spark-job/target/bad-inputs"));
        List<Case> cases = cases(dir);
        assertTrue(cases.size() >= 40, "the table holds " + cases.size() + " cases");
        long started = System.nanoTime();
        Path archive = dir.resolve("evocompress-classes.jsa");
        Files.deleteIfExists(archive);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<ClusterFixture.Exit>> runs = new ArrayList<>();
        // the archive: written when a command that opens a model, its config and a token file exits
        Case warmUp = cases.stream().filter(c -> c.what().equals("sequence longer than the context")).findFirst().orElseThrow();
        List<String> first = new ArrayList<>(List.of(new File(ROOT, "deploy/evocompress").getPath()));
        first.addAll(warmUp.argv());
        ClusterFixture.launch(first, java.util.Map.of("EVOCOMPRESS_JAVA_OPTS", QUICK_JVM + " -XX:ArchiveClassesAtExit=" + archive), 240);
        java.util.Map<String, String> env = java.util.Map.of("EVOCOMPRESS_JAVA_OPTS", QUICK_JVM + " -XX:SharedArchiveFile=" + archive);
        for (Case c : cases) {
            List<String> command = new ArrayList<>(List.of(new File(ROOT, "deploy/evocompress").getPath()));
            command.addAll(c.argv());
            runs.add(pool.submit(() -> ClusterFixture.launch(command, env, 240)));
        }
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%n%-3s %-11s %-44s %4s %6s  %s%n", "#", "kind",
            "bad input", "exit", "secs", "message"));
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            ClusterFixture.Exit r = runs.get(i).get();
            String message = r.err().lines().filter(l -> l.startsWith("evocompress")).findFirst().orElse("(none)");
            table.append(String.format(Locale.ROOT, "%-3d %-11s %-44s %4d %6.1f  %s%n", i + 1, c.kind(), c.what(), r.status(),
                r.seconds(), message.length() > 150 ? message.substring(0, 150) + "..." : message));
            List<String> wrong = new ArrayList<>();
            if (r.status() != c.status()) {
                wrong.add("exit " + r.status() + ", expected " + c.status());
            }
            for (String part : c.parts()) {
                if (!r.err().contains(part)) {
                    wrong.add("message lacks '" + part + "'");
                }
            }
            if (r.err().contains("\tat ") || r.err().contains("Caused by:") || r.err().contains("Exception in")) {
                wrong.add("prints a stack trace");
            }
            if (!c.inTask() && r.err().contains("Spark master")) {
                wrong.add("a Spark job ran before the failure");
            }
            if (c.output() != null) {
                for (String done : List.of("manifest.json", "result.json", ".spark-scratch")) {
                    if (Files.exists(c.output().resolve(done)) && !(done.equals(".spark-scratch") && c.inTask())) {
                        wrong.add("left " + c.output().resolve(done));
                    }
                }
            }
            if (!wrong.isEmpty()) {
                failures.add((i + 1) + " " + c.what() + ": " + String.join("; ", wrong) + "\n" + r.err());
            }
        }
        pool.shutdown();
        table.append(String.format(Locale.ROOT, "%d bad inputs in %.0f s (3 at a time)%n", cases.size(),
            (System.nanoTime() - started) / 1e9));
        System.out.println(table);
        assertTrue(failures.isEmpty(), String.join("\n----\n", failures));
    }

    private static List<Case> cases(Path dir) throws Exception {
        Path stories = Fixtures.stories260k();
        Path sample = Fixtures.text("tinystories_sample.txt");
        Path train = Fixtures.text("tinystories_train_head.txt");
        Path conf = ROOT.toPath().resolve("conf");
        List<Case> t = new ArrayList<>();

        // ---- checkpoints (eval --model BAD)
        t.add(evalModel("checkpoint", "model directory missing", dir.resolve("no-such-model"), sample, "does not exist"));
        Path noConfig = copy(stories, dir, "no-config");
        Files.delete(noConfig.resolve("config.json"));
        t.add(evalModel("checkpoint", "config.json missing", noConfig, sample, "config.json", "does not exist"));
        Path badJson = copy(stories, dir, "config-not-json");
        Files.writeString(badJson.resolve("config.json"), "{\"model_type\": \"llama\", ");
        t.add(evalModel("checkpoint", "config.json not JSON", badJson, sample, "config.json", "not valid JSON"));
        Path gpt2 = copy(stories, dir, "model-type-gpt2");
        BadFiles.editConfig(gpt2, "model_type", "\"gpt2x\"");
        t.add(evalModel("checkpoint", "unknown model_type", gpt2, sample, "unknown model_type 'gpt2x'"));
        Path fewer = copy(stories, dir, "fewer-layers");
        BadFiles.editConfig(fewer, "num_hidden_layers", "4");
        t.add(evalModel("checkpoint", "config names fewer blocks than the file", fewer, sample, "num_hidden_layers: 4",
            "hold 5 decoder blocks"));
        Path huge = copy(stories, dir, "huge-layers");
        BadFiles.editConfig(huge, "num_hidden_layers", "100000000");
        t.add(evalModel("checkpoint", "num_hidden_layers 10^8", huge, sample, "num_hidden_layers: 100000000"));
        Path million = copy(stories, dir, "million-layers");
        BadFiles.editConfig(million, "num_hidden_layers", "1000000");
        t.add(evalModel("checkpoint", "num_hidden_layers 10^6", million, sample, "num_hidden_layers: 1000000"));
        Path inter = copy(stories, dir, "intermediate");
        BadFiles.editConfig(inter, "intermediate_size", "100");
        t.add(evalModel("checkpoint", "intermediate_size disagrees with a tensor", inter, sample, "has shape [172, 64]",
            "implies [100, 64]"));
        Path vocab = copy(stories, dir, "vocab");
        BadFiles.editConfig(vocab, "vocab_size", "1000");
        t.add(evalModel("checkpoint", "vocab_size disagrees with embeddings", vocab, sample, "model.embed_tokens.weight"));
        Path noWeights = copy(stories, dir, "no-weights");
        Files.delete(noWeights.resolve("model.safetensors"));
        t.add(evalModel("checkpoint", "model.safetensors missing", noWeights, sample, "has no weights"));
        Path truncated = copy(stories, dir, "truncated");
        byte[] bytes = Files.readAllBytes(truncated.resolve("model.safetensors"));
        Files.write(truncated.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 1000));
        t.add(evalModel("checkpoint", "truncated safetensors", truncated, sample, "model.safetensors", "is truncated"));
        Path garbage = copy(stories, dir, "garbage-header");
        byte[] g = Files.readAllBytes(garbage.resolve("model.safetensors"));
        System.arraycopy("#!garbage{{".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, g, 8, 11);
        Files.write(garbage.resolve("model.safetensors"), g);
        t.add(evalModel("checkpoint", "garbage safetensors header", garbage, sample, "has a corrupt header", "not valid JSON"));
        Path tiny = copy(stories, dir, "five-bytes");
        Files.write(tiny.resolve("model.safetensors"), new byte[5]);
        t.add(evalModel("checkpoint", "5-byte safetensors", tiny, sample, "holds 5 bytes"));
        Path overlap = copy(stories, dir, "overlap");
        BadFiles.overlapOffsets(overlap.resolve("model.safetensors"), "model.layers.0.input_layernorm.weight", "model.norm.weight");
        t.add(evalModel("checkpoint", "overlapping tensor offsets", overlap, sample, "overlap", "model.norm.weight"));
        Path intDtype = copy(stories, dir, "int-weights");
        BadFiles.editHeader(intDtype.resolve("model.safetensors"),
            h -> ((com.fasterxml.jackson.databind.node.ObjectNode) h.get("model.norm.weight")).put("dtype", "I32"));
        t.add(evalModel("checkpoint", "integer dtype for a weight", intDtype, sample, "model.norm.weight", "has dtype I32"));
        Path missingBlock = copy(stories, dir, "missing-block");
        BadFiles.editHeader(missingBlock.resolve("model.safetensors"), h -> {
            for (String n : h.properties().stream().map(java.util.Map.Entry::getKey).toList()) {
                if (n.startsWith("model.layers.2.")) {
                    h.remove(n);
                }
            }
        });
        t.add(evalModel("checkpoint", "a block's tensors missing", missingBlock, sample, "lacks block 2"));
        Path nan = copy(stories, dir, "nan");
        BadFiles.setF32(nan.resolve("model.safetensors"), "model.layers.3.mlp.down_proj.weight", 77, Float.NaN);
        t.add(new Case("checkpoint", "NaN weight (read in a Spark task)", 1,
            List.of("eval", "--model", nan.toString(), "--data", sample.toString(), "--seq-len", "64", "--max-tokens", "256"),
            List.of("model.layers.3.mlp.down_proj.weight", "NaN", "element 77"), true, null));

        // ---- data (eval --data BAD)
        t.add(evalData("data", "data file missing", stories, dir.resolve("none.txt"), "does not exist"));
        Path empty = Files.writeString(dir.resolve("empty.txt"), "\n\n  \n");
        t.add(evalData("data", "empty text", stories, empty, "holds no text"));
        Path binary = dir.resolve("binary.txt");
        Files.copy(stories.resolve("model.safetensors"), binary, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        t.add(evalData("data", "binary file as text", stories, binary, "is not text", "NUL byte"));
        Path badJsonl = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"a\"}\n{\"text\": \n");
        t.add(evalData("data", "JSON Lines with a broken line", stories, badJsonl, "line 2 is not valid JSON"));
        Path noText = Files.writeString(dir.resolve("notext.jsonl"), "{\"body\": \"a\"}\n");
        t.add(evalData("data", "JSON Lines without 'text'", stories, noText, "no string field 'text'"));
        t.add(evalData("data", "token_ids of shape [3, 100]", stories,
            BadFiles.tokenIds(dir.resolve("batch.safetensors"), new long[] {3, 100}, BadFiles.ids(300, 512)), "shape [3, 100]"));
        t.add(evalData("data", "token_ids of one token", stories,
            BadFiles.tokenIds(dir.resolve("single.safetensors"), new long[] {1}, 5), "at least 2"));
        t.add(evalData("data", "token id 2^40", stories,
            BadFiles.tokenIds(dir.resolve("big.safetensors"), new long[] {3}, 1, 1L << 40, 2), "token id 1099511627776"));
        t.add(evalData("data", "token id = vocab_size", stories,
            BadFiles.tokenIds(dir.resolve("vocab.safetensors"), new long[] {3}, 1, 512, 2), "outside the model's vocabulary"));
        t.add(evalData("data", "negative token id", stories,
            BadFiles.tokenIds(dir.resolve("neg.safetensors"), new long[] {3}, 1, -1, 2), "token id -1"));
        t.add(evalData("data", "sequence longer than the context", stories,
            BadFiles.tokenIds(dir.resolve("long.safetensors"), new long[] {600}, BadFiles.ids(600, 512)), "longer than the model's context"));
        t.add(evalData("data", "safetensors without token_ids", stories, stories.resolve("model.safetensors"),
            "holds no integer tensor 'token_ids'"));

        // ---- command line (exit 2)
        t.add(new Case("cli", "unknown command", 2, List.of("evaluate"), List.of("unknown command 'evaluate'"), false, null));
        t.add(new Case("cli", "unknown option", 2, List.of("eval", "--modle", stories.toString()), List.of("--modle"), false, null));
        t.add(evalArgs("cli", "--device tpu", 2, stories, sample, List.of("--device", "tpu"), "--device", "'tpu'"));
        t.add(evalArgs("cli", "--dtype int3", 2, stories, sample, List.of("--dtype", "int3"), "--dtype"));
        t.add(evalArgs("cli", "--seq-len 1", 2, stories, sample, List.of("--seq-len", "1"), "--seq-len"));
        t.add(evalArgs("cli", "--batch-size 0", 2, stories, sample, List.of("--batch-size", "0"), "--batch-size"));
        t.add(new Case("cli", "compress --sparsity 1.5", 2, List.of("compress", "--model", stories.toString(), "--method",
            "magnitude", "--sparsity", "1.5", "--out", dir.resolve("c15").toString()), List.of("--sparsity"), false, dir.resolve("c15")));

        // ---- configurations (build-db, search)
        String buildDb = conf.resolve("build-db-sparsity.yaml").toString();
        Path dup = Files.writeString(dir.resolve("dup.yaml"), Files.readString(conf.resolve("build-db-sparsity.yaml")) + "model: x\n");
        t.add(new Case("config", "YAML duplicate key", 1, List.of("build-db", "--config", dup.toString()),
            List.of(dup.toString(), "Duplicate field 'model'"), false, null));
        Path invalid = Files.writeString(dir.resolve("invalid.yaml"), "model: [a, b\n");
        t.add(new Case("config", "invalid YAML", 1, List.of("build-db", "--config", invalid.toString()),
            List.of(invalid.toString(), "not valid YAML"), false, null));
        t.add(buildDb("config", "misspelt setting", buildDb, dir.resolve("db1"), List.of("databse.target=0.5"), "Unknown setting [databse]"));
        t.add(buildDb("config", "database.max-level 100000", buildDb, dir.resolve("db2"), List.of("database.max-level=100000"),
            "database.max-level", "at most 32"));
        t.add(buildDb("config", "database.target 1.5", buildDb, dir.resolve("db3"), List.of("database.target=1.5"),
            "database.target"));
        t.add(buildDb("config", "calibration.seq-len beyond context", buildDb, dir.resolve("db4"),
            List.of("calibration.seq-len=100000"), "calibration.seq-len"));
        t.add(buildDb("config", "calibration.shards > sequences", buildDb, dir.resolve("db5"),
            List.of("calibration.sequences=2", "calibration.shards=3"), "calibration.shards"));
        // a .safetensors file of token_ids is calibration data now; one without that tensor is refused
        t.add(buildDb("config", "calibration.data: safetensors without token_ids", buildDb, dir.resolve("db6"),
            List.of("calibration.data=" + stories.resolve("model.safetensors")), "holds no integer tensor 'token_ids'"));
        Path aFile = Files.writeString(dir.resolve("a-file"), "x");
        t.add(buildDb("output", "build-db output is a regular file", buildDb, aFile, List.of(), "Setting 'output'", "regular file"));
        t.add(buildDb("output", "build-db output below a regular file", buildDb, aFile.resolve("db"), List.of(),
            "on the way to it is a regular file"));
        Path modelOut = copy(stories, dir, "model-as-output");
        t.add(new Case("output", "build-db output is the model's directory", 1, List.of("build-db", "--config", buildDb, "--set",
            "model=" + modelOut, "--set", "output=" + modelOut, "--set", "calibration.data=" + train),
            List.of("the model's own directory"), false, null));
        Path search = dir.resolve("search1");
        t.add(new Case("output", "search database.path is a regular file", 1, List.of("search", "--config",
            conf.resolve("evopress-sparsity-70.yaml").toString(), "--set", "model=" + stories, "--set", "output=" + search,
            "--set", "database.path=" + aFile, "--set", "calibration.data=" + train, "--set", "heldout.data=" + sample),
            List.of("Setting 'database.path'", "regular file"), false, search));
        // a directory that takes no files (mode 555, or /proc where root writes through the mode bits)
        Path readOnly = BadFiles.unwritableDirectory(dir);
        t.add(buildDb("output", "build-db output not writable", buildDb, readOnly, List.of(), "Setting 'output'",
            readOnly + " is not writable"));
        Path search3 = dir.resolve("search3");
        t.add(new Case("output", "search database.path not writable", 1, List.of("search", "--config",
            conf.resolve("evopress-sparsity-70.yaml").toString(), "--set", "model=" + stories, "--set", "output=" + search3,
            "--set", "database.path=" + readOnly, "--set", "calibration.data=" + train, "--set", "heldout.data=" + sample),
            List.of("Setting 'database.path'", readOnly + " is not writable"), false, search3));
        t.add(new Case("output", "search output not writable", 1, List.of("search", "--config",
            conf.resolve("evopress-sparsity-70.yaml").toString(), "--set", "model=" + stories, "--set", "output=" + readOnly,
            "--set", "database.path=" + dir.resolve("db-ro"), "--set", "calibration.data=" + train, "--set",
            "heldout.data=" + sample), List.of("Setting 'output'", readOnly + " is not writable"), false, readOnly));
        Path search2 = dir.resolve("search2");
        t.add(new Case("config", "search domain.target 1.5", 1, List.of("search", "--config",
            conf.resolve("evopress-sparsity-70.yaml").toString(), "--set", "model=" + stories, "--set", "output=" + search2,
            "--set", "domain.target=1.5", "--set", "calibration.data=" + train, "--set", "heldout.data=" + sample),
            List.of("domain.target"), false, search2));
        t.add(new Case("config", "compress --calibration-data weights file", 1, List.of("compress", "--model", stories.toString(),
            "--method", "wanda", "--sparsity", "0.5", "--calibration-data", stories.resolve("model.safetensors").toString(),
            "--calibration-sequences", "2", "--seq-len", "32", "--out", dir.resolve("c-wanda").toString()),
            List.of("holds no integer tensor 'token_ids'"), false, dir.resolve("c-wanda")));

        // ---- export
        Path result = Files.createDirectories(dir.resolve("truncated-result"));
        Files.writeString(result.resolve("result.json"), "{\"model\": \"" + stories + "\", \"result\": {\"profile\": {");
        t.add(new Case("export", "truncated result.json", 1, List.of("export", "--result", result.toString(), "--out",
            dir.resolve("exported").toString()), List.of("result.json", "not valid JSON"), false, null));
        return t;
    }

    private static Path copy(Path source, Path dir, String name) {
        return BadFiles.copyCheckpoint(source, dir.resolve(name));
    }

    private static Case evalModel(String kind, String what, Path model, Path data, String... parts) {
        return new Case(kind, what, 1, List.of("eval", "--model", model.toString(), "--data", data.toString()), List.of(parts),
            false, null);
    }

    private static Case evalData(String kind, String what, Path model, Path data, String... parts) {
        List<String> p = new ArrayList<>(List.of(parts));
        p.add(data.getFileName().toString());
        return new Case(kind, what, 1, List.of("eval", "--model", model.toString(), "--data", data.toString()), p, false, null);
    }

    private static Case evalArgs(String kind, String what, int status, Path model, Path data, List<String> extra, String... parts) {
        List<String> argv = new ArrayList<>(List.of("eval", "--model", model.toString(), "--data", data.toString()));
        argv.addAll(extra);
        return new Case(kind, what, status, argv, List.of(parts), false, null);
    }

    private static Case buildDb(String kind, String what, String config, Path output, List<String> sets, String... parts) {
        List<String> argv = new ArrayList<>(List.of("build-db", "--config", config, "--set", "output=" + output,
            "--set", "model=" + Fixtures.stories260k(), "--set", "calibration.data=" + Fixtures.text("tinystories_train_head.txt")));
        for (String s : sets) {
            argv.add("--set");
            argv.add(s);
        }
        return new Case(kind, what, 1, argv, List.of(parts), false, output);
    }
}

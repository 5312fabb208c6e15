package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.Fixtures;
import io.evocompress.data.TextTokenizer;
import io.evocompress.fs.HadoopFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end, on the embedded default (Spark local master, local files). */
class MainTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Exit status, stdout, stderr of one command line. */
    record Run(int status, String out, String err) {
        JsonNode json() throws Exception {
            String[] lines = out.strip().split("\n");
            return JSON.readTree(lines[lines.length - 1]);
        }
    }

    static Run run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Main().run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void evalOnTheReferenceTokenIdsReportsTheReferenceNll() throws Exception {
        Path model = Fixtures.stories260k();
        Run r = run("eval", "--model", model.toString(), "--data", model.resolve("reference_logits.safetensors").toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode json = r.json();
        assertEquals(1.3078, json.get("nll_per_token").asDouble(), 0.001);
        assertEquals(Math.exp(json.get("nll_per_token").asDouble()), json.get("perplexity").asDouble(), 1e-9);
        assertEquals(255, json.get("tokens").asInt());
        assertTrue(r.err().contains("scoring on Spark master local[1]"), r.err());
    }

    @Test
    void evalOnTextWithAReferenceModelReportsKlAndMatchesChunkCounts() throws Exception {
        Path model = Fixtures.stories260k();
        // the same model twice: KL must be 0; babyllama's vocabulary differs, so it cannot be a reference
        Run r = run("eval", "--model", model.toString(), "--data", Fixtures.text("tinystories_sample.txt").toString(),
            "--seq-len", "64", "--reference-model", model.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode json = r.json();
        // the stream is <s> + every line's tokens; sequences = ceil(stream / 64), each predicts all but its last
        int stream = 1;
        try (TextTokenizer tok = TextTokenizer.load(HadoopFiles.fileSystem(HadoopFiles.path(model.toString()),
            HadoopFiles.defaultConf()), HadoopFiles.path(model.toString()))) {
            for (String line : Files.readAllLines(Fixtures.text("tinystories_sample.txt"))) {
                stream += line.isBlank() ? 0 : tok.encode(line).length;
            }
        }
        int sequences = (stream + 63) / 64;
        assertEquals(sequences, json.get("sequences").asInt());
        assertEquals(stream - sequences, json.get("tokens").asLong());
        assertEquals(0.0, json.get("kl_divergence").asDouble(), 1e-6);
        // the sample text is TinyStories, which the model was trained on: perplexity well below uniform (512)
        assertTrue(json.get("perplexity").asDouble() < 20, json.toString());

        Run mismatch = run("eval", "--model", model.toString(), "--data", Fixtures.text("tinystories_sample.txt").toString(),
            "--reference-model", Fixtures.babyllama105().toString());
        assertEquals(1, mismatch.status());
        assertTrue(mismatch.err().contains("vocab_size 105"), mismatch.err());
    }

    @Test
    void seqLenAboveTheContextIsAClearError() {
        Run r = run("eval", "--model", Fixtures.stories260k().toString(), "--data",
            Fixtures.text("tinystories_sample.txt").toString(), "--seq-len", "1024");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("--seq-len 1024 exceeds the model's context of 512 tokens"), r.err());
        assertTrue(r.err().contains("stories260K/config.json"), r.err());
    }

    @Test
    void emptyDataFileIsAClearError(@TempDir Path tmp) throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "\n  \n");
        Run r = run("eval", "--model", Fixtures.stories260k().toString(), "--data", empty.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains(empty.getFileName().toString()) && r.err().contains("holds no text"), r.err());
    }

    @Test
    void wrongCommandLinesExitWithStatus2() {
        assertEquals(2, run("nonsense").status());
        Run unknown = run("eval", "--modle", "x");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("Unknown option --modle"), unknown.err());
        Run missing = run("eval", "--data", "x");
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("needs --model"), missing.err());
        assertEquals(0, run("eval", "--help").status());
        assertEquals(0, run("synth-model", "--help").status());
        assertEquals(0, run("bench", "forward", "--help").status());
    }

    @Test
    void synthModelWritesALoadableCheckpointWithTheRequestedParameterCount(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("synth");
        Run r = run("synth-model", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
            "--intermediate", "128", "--vocab", "300", "--context", "128", "--out", out.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        // embeddings 300*64 + per block (q 64*64 + k,v 2*32*64 + o 64*64 + mlp 3*128*64 + norms 2*64) * 2 + final norm 64
        long expected = 300 * 64 + 2 * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 128 * 64 + 2 * 64) + 64;
        assertEquals(expected, r.json().get("parameters").asLong());
        assertTrue(Files.exists(out.resolve("model.safetensors")));
        // a benchmark forward on it runs and reports positive throughput
        Run bench = run("bench", "forward", "--model", out.toString(), "--seq-len", "32", "--iterations", "1", "--json");
        assertEquals(0, bench.status(), bench.err());
        assertTrue(bench.json().get("tokens_per_second").asDouble() > 0);
        assertTrue(bench.json().get("matmul_gflops").asDouble() > 0);
        // the same output again without --overwrite is refused, naming the path
        Run again = run("synth-model", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
            "--intermediate", "128", "--vocab", "300", "--out", out.toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("already exists"), again.err());
    }
}

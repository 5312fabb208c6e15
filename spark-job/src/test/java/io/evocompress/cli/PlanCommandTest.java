package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code evocompress plan} on the command line: the JSON result, --help, and bad input as exit 1 with the setting named. */
class PlanCommandTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new Main().run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String[] seventyB(String... more) {
        String[] base = {"plan", "--config", ROOT.resolve("conf/models/llama-3-70b-sparsity-0.7.yaml").toString(),
            "--set", "model=" + ROOT.resolve("conf/models/llama-3-70b"),
            "--set", "output=" + ROOT.resolve("target/plan-cli/run"),
            "--set", "database.path=" + ROOT.resolve("target/plan-cli/db")};
        String[] out = new String[base.length + more.length];
        System.arraycopy(base, 0, out, 0, base.length);
        System.arraycopy(more, 0, out, base.length, more.length);
        return out;
    }

    @Test
    void plansLlama70bAsJson() throws Exception {
        Run r = run(seventyB("--json", "--set", "plan.device-flops=4.95e14"));
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        JsonNode json = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals("plan", json.get("command").asText());
        assertEquals("search", json.get("plans").asText());
        assertEquals(80, json.get("blocks").asInt());
        assertTrue(json.get("database_bytes").asLong() > 1_000_000_000_000L);
        // half the FLOP rate: the compute-bound search takes twice the default's hours
        Run fast = run(seventyB("--json"));
        String[] fl = fast.out().strip().split("\n");
        double atDefault = new ObjectMapper().readTree(fl[fl.length - 1]).get("hours").get("search").asDouble();
        assertEquals(2 * atDefault, json.get("hours").get("search").asDouble(), 0.01 * atDefault);
    }

    @Test
    void helpAndBadInput() {
        Run help = run("plan", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("plan.device-flops") && help.out().contains("database_bytes"), help.out());
        Run unknown = run(seventyB("--set", "plan.device-flop=1e15"));
        assertEquals(1, unknown.status());
        assertTrue(unknown.err().contains("plan.device-flop") || unknown.err().contains("device-flop"), unknown.err());
        Run negative = run(seventyB("--set", "plan.device-bandwidth=-1"));
        assertEquals(1, negative.status());
        assertTrue(negative.err().contains("plan.device-bandwidth"), negative.err());
        Run command = run(seventyB("--command", "eval"));
        assertEquals(1, command.status());
        assertTrue(command.err().contains("not 'eval'"), command.err());
        Run missing = run(seventyB("--set", "model=" + ROOT.resolve("conf/models/no-such-model")));
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("no-such-model/config.json does not exist"), missing.err());
        assertTrue(!missing.err().contains("\tat "), "no stack trace: " + missing.err());
    }
}

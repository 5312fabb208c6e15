package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.BadFiles;
import io.evocompress.ExecutorCache;
import io.evocompress.Fixtures;
import io.evocompress.database.VariantStore;
import io.evocompress.structured.StructuredDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code darwin} reusing a structured database whose model changed only between the weights fingerprint's
 * windows: stories260K's model.embed_tokens.weight (512 x 64 fp32, 131072 bytes, sampled as 16 windows of
 * 4 KiB, 8465 bytes apart), one value changed at byte 6000, the header unchanged. The database id is the same,
 * so the rerun reuses the database whole; its candidate tasks, which hash each tensor the database recorded as
 * they load the dense model, fail naming the tensor, the checkpoint file and the database, with exit 1, no
 * stack trace and no result.json. The build's records are checked too: each unit holds the full SHA-256 of
 * the layer its task read (o_proj, down_proj), the manifest those of the 37 other tensors. (The stories260K
 * layers a unit reads are under 64 KiB, hashed whole by the fingerprint: a change there is a new database id.)
 */
class DarwinTensorHashTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private List<String> darwin(Path model, Path db, Path out) {
        List<String> a = new ArrayList<>(List.of("darwin", "--config", SearchCommandTest.conf("darwin-50.yaml").toString()));
        for (String s : List.of("model=" + model, "output=" + out, "database.path=" + db,
                "calibration.data=" + Fixtures.text("tinystories_train_head.txt"), "calibration.sequences=4",
                "calibration.seq-len=64", "calibration.shards=2", "database.steps=2",
                "search.generations=1", "search.offspring=1", "search.stages=1@64:64", "post-training.tokens=0",
                "heldout.data=" + Fixtures.text("tinystories_sample.txt"), "heldout.seq-len=64", "heldout.max-tokens=128",
                "final.tokens=64", "final.validation-tokens=0", "final.candidates=1")) {
            a.add("--set");
            a.add(s);
        }
        return a;
    }

    @Test
    void darwinReusingAStructuredDatabaseOfOtherWeightsFailsNamingTheTensor() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        Path db = tmp.resolve("db");
        MainTest.Run built = MainTest.run(darwin(model, db, tmp.resolve("first")).toArray(new String[0]));
        assertEquals(0, built.status(), built.err());
        assertTrue(Files.exists(tmp.resolve("first").resolve("result.json")));

        // what the build recorded: each unit its layer's hash, the manifest every other tensor's
        JsonNode manifest = JSON.readTree(db.resolve("manifest.json").toFile());
        String down = "model.layers.3.mlp.down_proj.weight";
        JsonNode unit = null;
        for (JsonNode u : manifest.get("units")) {
            if (u.get("name").asText().equals("model.layers.3.mlp.down_proj")) {
                unit = u;
            }
        }
        assertEquals(VariantStore.sha256(BadFiles.tensorBytes(weights, down)), unit.get("tensorSha256").get(down).asText());
        assertEquals(1, unit.get("tensorSha256").size());
        String tensor = "model.embed_tokens.weight";
        JsonNode others = manifest.get("otherTensorSha256");
        assertEquals(VariantStore.sha256(BadFiles.tensorBytes(weights, tensor)), others.get(tensor).asText());
        assertEquals(47 - 10, others.size(), others.toString());   // 47 tensors, 2 read by the units of each of 5 blocks
        assertFalse(others.has(down), "a unit's tensor is in its unit's record");
        Map<String, String> checked = StructuredDatabase.open(db.toString()).manifest().tensorSha256();
        assertEquals(47, checked.size(), "every tensor is checked where the dense model is read");

        float[] original;
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            original = r.readFloat(tensor);
        }
        BadFiles.setF32(weights, tensor, 1500, original[1500] + 0.25f);   // byte 6000: between windows [0, 4096) and [8465, ...)
        // a new run is a new JVM: its candidate tasks load the dense model again (here: the same test JVM)
        ExecutorCache.clear("darwin-workers");
        Path out = tmp.resolve("second");
        MainTest.Run r = BadInputTest.fails(1, darwin(model, db, out), "Tensor '" + tensor + "'", weights.toString(),
            db.toString(), "weights changed since the database was built", "Delete", "database.path");
        assertTrue(r.err().contains("structured database is complete and verifies: reusing it"), r.err());
        assertFalse(r.err().contains("generation 1/1"), "the first candidate task stops the search:\n" + r.err());
        assertFalse(Files.exists(out.resolve("result.json")));
    }
}

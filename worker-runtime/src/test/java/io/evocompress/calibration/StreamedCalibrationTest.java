package io.evocompress.calibration;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.Fixtures;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.HostWeightCache;
import io.evocompress.model.StreamedLm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The calibration pass with the weights streamed block by block gives the resident pass's partial Hessians
 * and squared sums byte for byte, on every family's fixture and real text.
 */
class StreamedCalibrationTest {

    private static Map<String, byte[]> partials(java.util.function.Consumer<DenseCalibration.PartialVisitor> pass) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        pass.accept((block, parts) -> parts.forEach((group, part) ->
            out.put(block + "/" + group, HessianFile.encode(part))));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "babyllama105", "tiny-opt", "tiny-bloom", "tiny-phi3"})
    void streamedCalibrationGivesTheResidentHessiansByteForByte(String fixture) {
        java.nio.file.Path dir = Fixtures.model(fixture);
        List<int[]> seqs = CalibrationFixtures.calibration(dir, 6, 64);
        Map<String, byte[]> resident;
        try (CausalLm lm = CalibrationFixtures.load(dir)) {
            resident = partials(v -> DenseCalibration.forEachBlockPartial(lm, seqs, 4, lm.numBlocks(), v));
        }
        HostWeightCache cache = new HostWeightCache(0);
        Map<String, byte[]> streamed;
        try (StreamedLm lm = StreamedLm.open(dir.toString(), HadoopFiles.defaultConf(), Device.cpu(), DataType.FLOAT32, cache)) {
            streamed = partials(v -> DenseCalibration.forEachBlockPartial(lm, seqs, 4, lm.numBlocks(), v));
        }
        assertEquals(new ArrayList<>(resident.keySet()), new ArrayList<>(streamed.keySet()));
        resident.forEach((key, bytes) -> assertArrayEquals(bytes, streamed.get(key), fixture + " " + key));
    }
}

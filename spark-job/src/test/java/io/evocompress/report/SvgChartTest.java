package io.evocompress.report;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SvgChartTest {
    private static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void seriesMapOntoThePlotAreaAndTheSvgIsWellFormed() throws Exception {
        String svg = new SvgChart("fitness <KL>", "generation", "KL")
            .series("search", new double[] {0, 1, 2}, new double[] {0.5, 0.3, 0.2})
            .series("uniform", new double[] {0, 2}, new double[] {0.5, 0.5})
            .render();
        Document doc = parse(svg);
        NodeList lines = doc.getElementsByTagName("polyline");
        assertEquals(2, lines.getLength());
        String[] pts = ((Element) lines.item(0)).getAttribute("points").split(" ");
        assertEquals(3, pts.length);
        // x = 0 is the left edge (70), x = 2 the right edge (760 - 150); y range padded by 5% each side.
        assertEquals(70.0, Double.parseDouble(pts[0].split(",")[0]), 1e-9);
        assertEquals(610.0, Double.parseDouble(pts[2].split(",")[0]), 1e-9);
        double top = 36, plotH = 340 - 36 - 50, min = 0.2 - 0.015, max = 0.5 + 0.015;
        assertEquals(top + plotH - (0.3 - min) / (max - min) * plotH, Double.parseDouble(pts[1].split(",")[1]), 0.06);
        assertTrue(svg.contains("fitness &lt;KL&gt;"));
    }

    @Test
    void stepSeriesDrawTwoPointsPerLevelAndLogAxesSkipNonPositiveValues() throws Exception {
        Document steps = parse(new SvgChart("levels", "layer", "sparsity").steps().series("a", new double[] {0.6, 0.8}).render());
        assertEquals(4, ((Element) steps.getElementsByTagName("polyline").item(0)).getAttribute("points").split(" ").length);
        Document log = parse(new SvgChart("kl", "g", "kl").logY().series("a", new double[] {1, 0, 10}).render());
        assertEquals(2, ((Element) log.getElementsByTagName("polyline").item(0)).getAttribute("points").split(" ").length);
        byte[] html = new HtmlReport("r").heading("h").table(List.of("a", "b"), List.of(List.of("1", "<2>"))).render();
        assertTrue(new String(html, StandardCharsets.UTF_8).contains("<td>&lt;2&gt;</td>"));
    }
}

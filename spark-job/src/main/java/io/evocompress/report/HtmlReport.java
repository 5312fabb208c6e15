package io.evocompress.report;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A self-contained HTML report: a title, paragraphs, tables and inline SVG charts, in one file that
 * any browser opens with no network. The charts are also written as separate .svg files by the
 * caller where useful.
 */
public final class HtmlReport {
    private final String title;
    private final List<String> parts = new ArrayList<>();

    public HtmlReport(String title) {
        this.title = title;
    }

    public HtmlReport paragraph(String text) {
        parts.add("<p>" + SvgChart.esc(text) + "</p>");
        return this;
    }

    public HtmlReport heading(String text) {
        parts.add("<h2>" + SvgChart.esc(text) + "</h2>");
        return this;
    }

    public HtmlReport table(List<String> header, List<List<String>> rows) {
        StringBuilder sb = new StringBuilder("<table><tr>");
        header.forEach(h -> sb.append("<th>").append(SvgChart.esc(h)).append("</th>"));
        sb.append("</tr>");
        for (List<String> row : rows) {
            sb.append("<tr>");
            row.forEach(c -> sb.append("<td>").append(SvgChart.esc(c)).append("</td>"));
            sb.append("</tr>");
        }
        parts.add(sb.append("</table>").toString());
        return this;
    }

    public HtmlReport chart(SvgChart chart) {
        parts.add("<div>" + chart.render() + "</div>");
        return this;
    }

    public HtmlReport preformatted(String text) {
        parts.add("<pre>" + SvgChart.esc(text) + "</pre>");
        return this;
    }

    public byte[] render() {
        String html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + SvgChart.esc(title) + "</title>\n"
            + "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>\n"
            + "<h1>" + SvgChart.esc(title) + "</h1>\n" + String.join("\n", parts) + "\n</body></html>\n";
        return html.getBytes(StandardCharsets.UTF_8);
    }
}

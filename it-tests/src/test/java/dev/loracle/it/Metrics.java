package dev.loracle.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads a node's /actuator/prometheus text. */
final class Metrics {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private Metrics() {
    }

    static String scrape(String restUrl) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(restUrl + "/actuator/prometheus"))
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IllegalStateException("/actuator/prometheus answered HTTP " + r.statusCode());
        return r.body();
    }

    /** The sum of every series of {@code name} (0 when absent). */
    static double value(String body, String name) {
        double sum = 0;
        for (String line : body.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        return sum;
    }

    /** "VALUE=count" for each value of {@code label} in the series of {@code name}, joined by "," ("none" when absent). */
    static String labelWithCount(String body, String name, String label) {
        StringBuilder out = new StringBuilder();
        for (String line : body.split("\n")) {
            if (!line.startsWith(name + "{")) continue;
            int at = line.indexOf(label + "=\"");
            if (at < 0) continue;
            String value = line.substring(at + label.length() + 2, line.indexOf('"', at + label.length() + 2));
            if (!out.isEmpty()) out.append(',');
            out.append(value).append('=').append((long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
        }
        return out.isEmpty() ? "none" : out.toString();
    }
}

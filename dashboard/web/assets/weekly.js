// Weekly page: size the report's frame to its content, so the page scrolls and the frame never
// cuts the report. The frame is a sandboxed srcdoc of an opaque origin (dashboard/pages/weekly.py):
// the page cannot measure its document, so the frame's one allowed script posts its height here.
// Only a message from that frame's own window is heard, and only a plain number is used.
window.addEventListener("message", function (event) {
    var frame = document.getElementById("weekly-report");
    if (!frame || event.source !== frame.contentWindow || !event.data) {
        return;
    }
    var height = event.data.reachReportHeight;
    if (typeof height !== "number" || !isFinite(height) || height <= 0) {
        return;
    }
    // Bounded: a report is a few thousand pixels; nothing it says makes the page endless.
    frame.style.height = Math.min(Math.ceil(height), 20000) + "px";
});

// Printing the page prints the report, as its file prints: a frame is one box that a printer
// slices where the page ends (and its height is the screen's), so for the print the report's own
// document is laid out in the page itself, inside a shadow root that keeps its styles and the
// dashboard's apart, and the rest of the page is hidden (reach.css, html.reach-print-report).
// Markup parsed this way runs no script, and the page's CSP refuses any inline one anyway.
window.addEventListener("beforeprint", function () {
    var frame = document.getElementById("weekly-report");
    if (!frame || !frame.srcdoc || document.getElementById("weekly-print")) {
        return;
    }
    var host = document.createElement("div");
    host.id = "weekly-print";
    host.attachShadow({mode: "open"}).innerHTML = frame.srcdoc;
    frame.parentNode.insertBefore(host, frame.nextSibling);
    document.documentElement.classList.add("reach-print-report");
});
window.addEventListener("afterprint", function () {
    var host = document.getElementById("weekly-print");
    if (host) {
        host.parentNode.removeChild(host);
    }
    document.documentElement.classList.remove("reach-print-report");
});

// chronicle console: live updates through Server-Sent Events. Every value
// from the server is written with textContent or as a DOM property, never
// as HTML.
"use strict";
(function () {
  function setText(root, key, value) {
    root.querySelectorAll('[data-live="' + key + '"]').forEach(function (el) {
      if (el.tagName === "METER" || el.tagName === "PROGRESS") {
        el.value = Number(value) || 0;
      } else {
        el.textContent = value == null ? "" : String(value);
      }
    });
  }

  function rowFor(table, attr, name) {
    if (!table) return null;
    var rows = table.querySelectorAll("tr[data-" + attr + "]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset[attr] === name) return rows[i];
    }
    return null;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function cell(tr, content, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content == null ? "" : String(content);
    tr.appendChild(td);
    return td;
  }

  var svgNS = "http://www.w3.org/2000/svg";
  function drawSparkline(svg, bars) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    (bars || []).forEach(function (b) {
      var r = document.createElementNS(svgNS, "rect");
      r.setAttribute("x", b.X); r.setAttribute("y", b.Y);
      r.setAttribute("width", b.W); r.setAttribute("height", b.H);
      if (!b.Known) r.setAttribute("class", "unknown");
      var t = document.createElementNS(svgNS, "title");
      t.textContent = b.Title;
      r.appendChild(t);
      svg.appendChild(r);
    });
  }

  var handlers = {
    overview: function (es) {
      es.addEventListener("overview", function (m) {
        var d = JSON.parse(m.data);
        var stats = document.getElementById("log-stats");
        ["head", "head_ago", "events", "streams", "per_second"].forEach(function (k) { setText(stats, k, d[k]); });
        var svg = document.getElementById("sparkline");
        if (svg) drawSparkline(svg, d.bars);
        var pt = document.getElementById("overview-projections");
        (d.projections || []).forEach(function (p) {
          var tr = rowFor(pt, "projection", p.name);
          if (!tr) return;
          ["state", "lag", "lag_time", "position", "fraction"].forEach(function (k) { setText(tr, k, p[k]); });
          var st = tr.querySelector('[data-live="state"]');
          if (st) st.className = "state " + p.state;
        });
        var rt = document.getElementById("overview-relays");
        (d.relays || []).forEach(function (r) {
          var tr = rowFor(rt, "relay", r.name);
          if (!tr) return;
          ["fraction", "position", "lag", "lag_time", "published", "parked", "last_error"].forEach(function (k) { setText(tr, k, r[k]); });
        });
        var stb = document.getElementById("overview-sagas");
        (d.sagas || []).forEach(function (s) {
          var tr = rowFor(stb, "saga", s.name);
          if (!tr) return;
          Object.keys(s.counts).forEach(function (k) {
            var td = tr.querySelector('[data-live="' + k + '"]');
            if (!td) return;
            var a = td.querySelector("a");
            (a || td).textContent = String(s.counts[k]);
          });
        });
      });
    },
    tail: function (es) {
      var body = document.getElementById("tail-body");
      var state = document.getElementById("live-state");
      es.addEventListener("open", function () { state.textContent = "live"; state.className = "live-state on"; });
      es.addEventListener("error", function () { state.textContent = "reconnecting…"; state.className = "live-state"; });
      es.addEventListener("failure", function (m) { state.textContent = "stopped: " + JSON.parse(m.data).error; state.className = "live-state"; });
      es.addEventListener("events", function (m) {
        JSON.parse(m.data).forEach(function (e) {
          var tr = document.createElement("tr");
          tr.className = "fresh";
          tr.dataset.id = e.id;
          cell(tr, e.position, "muted");
          cell(tr, e.recorded_at);
          cell(tr, link(e.stream_url, e.stream));
          cell(tr, e.version);
          cell(tr, link(e.event_url, e.type));
          cell(tr, e.correlation_url ? link(e.correlation_url, e.correlation) : "");
          body.insertBefore(tr, body.firstChild);
        });
        while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
      });
    },
    projection: function (es) {
      es.addEventListener("status", function (m) {
        var d = JSON.parse(m.data);
        var st = document.getElementById("projection-status");
        if (st && !d.error) {
          ["state", "position", "head", "lag", "lag_time", "handled", "fraction"].forEach(function (k) { setText(st, k, d[k]); });
          var s = st.querySelector('[data-live="state"]');
          if (s) s.className = "state " + d.state;
        }
        var pr = document.getElementById("rebuild-progress");
        if (pr && d.rebuild) {
          var r = d.rebuild;
          setText(pr, "rebuild.fraction", r.fraction);
          setText(pr, "rebuild.percent", r.percent);
          setText(pr, "rebuild.events", r.events);
          setText(pr, "rebuild.rate", r.rate);
          setText(pr, "rebuild.eta", r.eta);
          setText(pr, "rebuild.state", r.done ? (r.error ? "failed: " + r.error : "done in " + r.elapsed) :
            r.waiting ? "read everything readers can reach; waiting for " + r.waiting + " to end (" + r.elapsed + ")" : "running for " + r.elapsed);
        }
      });
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.dataset.confirm)) ev.preventDefault();
      });
    });
    var live = document.getElementById("live");
    if (!live || !window.EventSource) return;
    var h = handlers[live.dataset.kind];
    if (!h) return;
    var es = new EventSource(live.dataset.src);
    h(es);
    window.addEventListener("pagehide", function () { es.close(); });
  });
})();

package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// panel is one bar chart of the figure: a group of bars per x label, a bar
// per system.
type panel struct {
	title   string
	ylabel  string
	groups  []string
	keys    []string // measurement key per group
	metric  func(result) float64
	scale   float64 // the metric is divided by this
	systems []string
	log     bool // logarithmic y axis starting at logMin
	logMin  float64
}

// chart writes a 2×2 figure of the medians (produce and consume
// throughput, durable produce, p99 latency) to path.svg and path.png.
func chart(path string, env environment, systems []string, results []result) error {
	t := index(results)
	produce := func(r result) float64 { return r.produceRate() }
	consume := func(r result) float64 { return r.consumeRate() }
	groups := []string{"100 B, 1 part.", "100 B, 8 part.", "1 KiB, 1 part.", "1 KiB, 8 part."}
	keys := []string{"throughput/fast/1p/100B", "throughput/fast/8p/100B", "throughput/fast/1p/1024B", "throughput/fast/8p/1024B"}
	durable := []string{}
	for _, s := range systems {
		if s != sysKfake {
			durable = append(durable, s)
		}
	}
	panels := [][]panel{
		{
			{title: "Produce (fastest mode)", ylabel: "million records/s", groups: groups, keys: keys, metric: produce, scale: 1e6, systems: systems},
			{title: "Consume", ylabel: "million records/s", groups: groups, keys: keys, metric: consume, scale: 1e6, systems: systems},
		},
		{
			{title: "Durable produce (fsync before ack), 100 B", ylabel: "records/s (log scale)", groups: groups[:2],
				keys: []string{"throughput/durable/1p/100B", "throughput/durable/8p/100B"}, metric: produce, scale: 1, systems: durable,
				log: true, logMin: 100},
			{title: "Produce→consume p99 latency at 50k records/s (lower is better)", ylabel: "ms (log scale)", groups: []string{"fastest mode", "durable mode"},
				keys: []string{"latency/fast/1p/100B", "latency/durable/1p/100B"}, metric: func(r result) float64 { return r.P99 }, scale: 1, systems: systems,
				log: true, logMin: 0.1},
		},
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, row := range panels {
		for _, pn := range row {
			p, err := pn.plot(t)
			if err != nil {
				return err
			}
			plots[i] = append(plots[i], p)
		}
	}
	for _, img := range []struct {
		ext string
		c   vg.CanvasWriterTo
	}{{".svg", vgsvg.New(figW, figH)}, {".png", vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figW, figH), vgimg.UseDPI(110))}}} {
		if err := draw2x2(img.c, env, plots); err != nil {
			return err
		}
		f, err := os.Create(path + img.ext)
		if err != nil {
			return err
		}
		if _, err := img.c.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

const figW, figH = 30 * vg.Centimeter, 22 * vg.Centimeter

// draw2x2 draws the panels on c under a header line.
func draw2x2(c vg.CanvasSizer, env environment, plots [][]*plot.Plot) error {
	const w, h = figW, figH
	dc := draw.New(c)
	var bg vg.Path // white, so the figure reads on dark pages too
	bg.Move(vg.Point{})
	bg.Line(vg.Point{X: w})
	bg.Line(vg.Point{X: w, Y: h})
	bg.Line(vg.Point{Y: h})
	bg.Close()
	dc.SetColor(color.White)
	dc.Fill(bg)
	header := plot.New().Title.TextStyle
	header.Font.Size = 11
	dc.FillText(header, vg.Point{X: w / 2, Y: h - 2*vg.Millimeter},
		fmt.Sprintf("Cairn vs. alternatives, medians. %s; %s; %s", env.Date, env.Machine, env.Go))
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadTop: vg.Centimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter,
		PadRight: 2 * vg.Millimeter, PadX: 6 * vg.Millimeter, PadY: 6 * vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	return nil
}

func (pn panel) plot(t table) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Y.Label.Text = pn.ylabel
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = 9
	p.Legend.YOffs = -3 * vg.Millimeter
	width := vg.Points(12)
	n := len(pn.systems)
	top := 0.0
	for i, s := range pn.systems {
		vals := make(plotter.Values, len(pn.keys))
		for g, k := range pn.keys {
			xs, _ := t.values(k, s, pn.metric)
			vals[g] = stats(xs).med / pn.scale
			top = max(top, vals[g])
		}
		var base *plotter.BarChart
		if pn.log {
			// Bars on a log axis start at its minimum, not at 0: stack
			// them on an undrawn bar of that height.
			for g := range vals {
				vals[g] = max(0, vals[g]-pn.logMin)
			}
			var err error
			if base, err = plotter.NewBarChart(plotter.Values(slicesRepeat(pn.logMin, len(vals))), width); err != nil {
				return nil, err
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", pn.title, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(slices.Index(allSystems, s))
		if base != nil {
			base.Offset = vg.Length(float64(i)-float64(n-1)/2) * width
			bars.StackOn(base)
		} else {
			bars.Offset = vg.Length(float64(i)-float64(n-1)/2) * width
		}
		p.Add(bars)
		p.Legend.Add(systemTitles[s], bars)
	}
	p.NominalX(pn.groups...)
	// Room above the bars for the legend.
	if pn.log {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = pn.logMin, math.Max(pn.logMin*10, top*30)
	} else {
		p.Y.Min, p.Y.Max = 0, top*1.35
	}
	return p, nil
}

func slicesRepeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

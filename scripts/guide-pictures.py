#!/usr/bin/env python3
"""Draws the illustrations of the first sign-in guides (passlogic-idp-server/static/guide/*.svg).

SVG rather than screenshots: they stay sharp at every size, weigh a few hundred bytes, carry no
language (the guide page's text and each picture's alt text do), and need no running server.
Colours are the Okabe-Ito palette of static/app.css. Run after changing a drawing and commit
the output: the server compiles the files in (src/guides.rs).

    python3 scripts/guide-pictures.py
"""
import pathlib
import random

OUT = pathlib.Path(__file__).resolve().parent.parent / "passlogic-idp-server" / "static" / "guide"
BLUE, ORANGE, GREEN, VERM, SKY, PURPLE = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7"
INK, GREY, LIGHT = "#1a1a1a", "#6b6b6b", "#eef3f8"
W, H = 320, 200


def svg(body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'font-family="sans-serif">\n<rect width="{W}" height="{H}" fill="#ffffff"/>\n{body}</svg>\n'
    )


def browser(x, y, w, h, inner=""):
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="#fff" stroke="{GREY}" stroke-width="2"/>'
        f'<rect x="{x}" y="{y}" width="{w}" height="18" rx="6" fill="{LIGHT}" stroke="{GREY}" stroke-width="2"/>'
        f'<circle cx="{x+10}" cy="{y+9}" r="3" fill="{VERM}"/><circle cx="{x+20}" cy="{y+9}" r="3" fill="{ORANGE}"/>'
        f'<circle cx="{x+30}" cy="{y+9}" r="3" fill="{GREEN}"/>\n{inner}\n'
    )


def phone(x, y, inner=""):
    return (
        f'<rect x="{x}" y="{y}" width="90" height="170" rx="12" fill="#fff" stroke="{INK}" stroke-width="3"/>'
        f'<rect x="{x+35}" y="{y+6}" width="20" height="4" rx="2" fill="{GREY}"/>\n{inner}\n'
    )


def field(x, y, w, text="", label=""):
    out = ""
    if label:
        out += f'<text x="{x}" y="{y-4}" font-size="10" fill="{GREY}">{label}</text>'
    out += f'<rect x="{x}" y="{y}" width="{w}" height="22" rx="3" fill="#fff" stroke="{GREY}"/>'
    if text:
        out += f'<text x="{x+6}" y="{y+15}" font-size="13" fill="{INK}" font-family="monospace">{text}</text>'
    return out


def button(x, y, w, text):
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="22" rx="4" fill="{BLUE}"/>'
        f'<text x="{x+w/2}" y="{y+15}" font-size="11" fill="#fff" text-anchor="middle">{text}</text>'
    )


def grid_cells(x, y, rows, cols, size, digits, marks, block=0, gap=6):
    out = []
    for r in range(rows):
        for c in range(cols):
            cx = x + c * size + (c // block) * gap if block else x + c * size
            idx = r * cols + c
            fill = ORANGE if idx in marks else "#fff"
            out.append(f'<rect x="{cx}" y="{y+r*size}" width="{size}" height="{size}" fill="{fill}" stroke="{GREY}"/>')
            if digits is not None:
                out.append(
                    f'<text x="{cx+size/2}" y="{y+r*size+size*0.7}" font-size="{size*0.55:.0f}" '
                    f'text-anchor="middle" fill="{INK}" font-family="monospace">{digits[idx]}</text>'
                )
            elif idx in marks:
                out.append(
                    f'<text x="{cx+size/2}" y="{y+r*size+size*0.7}" font-size="{size*0.5:.0f}" '
                    f'text-anchor="middle" fill="{INK}">{marks.index(idx)+1}</text>'
                )
    return "".join(out)


def check(x, y, r=14):
    return (
        f'<circle cx="{x}" cy="{y}" r="{r}" fill="{GREEN}"/>'
        f'<path d="M{x-r*0.45} {y} l{r*0.3} {r*0.35} l{r*0.6} -{r*0.7}" stroke="#fff" stroke-width="3" fill="none"/>'
    )


def main():
    rnd = random.Random(7)
    digits = [rnd.randrange(10) for _ in range(48)]
    pics = {}
    pics["signin"] = svg(browser(40, 20, 240, 160,
        f'<text x="60" y="62" font-size="16" fill="{INK}" font-weight="bold">Sign in</text>'
        + field(60, 90, 200, "taro", "User ID") + button(60, 126, 80, "Next")))
    pics["notice"] = svg(
        f'<rect x="70" y="15" width="180" height="170" fill="#fffdf3" stroke="{GREY}"/>'
        f'<text x="85" y="42" font-size="12" fill="{GREY}">Initial pattern</text>'
        + "".join(f'<text x="85" y="{70+i*24}" font-size="16" font-family="monospace" fill="{INK}">{row}</text>'
                  for i, row in enumerate(["*1** **** ****", "**** *2** ****", "**** **** **3*", "4*** **** ****"])))
    pics["grid"] = svg(browser(8, 10, 304, 180,
        grid_cells(22, 50, 4, 12, 21, digits, [1, 17, 34, 36], block=4)
        + field(22, 150, 120, "5093", "") + button(150, 150, 70, "Sign in")))
    pics["picker"] = svg(browser(8, 10, 304, 180,
        grid_cells(22, 40, 4, 12, 21, None, [0, 13, 26, 39, 22, 11], block=4)
        + field(22, 140, 150, "0,13,26,39,22,11") + button(180, 140, 100, "Save pattern")))
    tiles = ""
    for i, (c, t, letter) in enumerate([(ORANGE, INK, "M"), (SKY, INK, "S"), (BLUE, "#fff", "B"), (PURPLE, INK, "E")]):
        x = 32 + i * 66
        tiles += (f'<rect x="{x}" y="80" width="52" height="52" rx="10" fill="{c}"/>'
                  f'<text x="{x+26}" y="115" font-size="24" font-weight="bold" text-anchor="middle" fill="{t}">{letter}</text>'
                  f'<rect x="{x+4}" y="140" width="44" height="6" rx="3" fill="{LIGHT}"/>')
    pics["portal"] = svg(browser(16, 20, 288, 160,
        f'<rect x="18" y="40" width="284" height="22" fill="{LIGHT}"/>'
        f'<rect x="28" y="47" width="40" height="8" rx="4" fill="{BLUE}"/><rect x="78" y="47" width="40" height="8" rx="4" fill="{GREY}"/>'
        f'<rect x="128" y="47" width="40" height="8" rx="4" fill="{GREY}"/>' + tiles))
    pics["pin"] = svg(browser(40, 20, 240, 160,
        f'<text x="60" y="58" font-size="16" font-weight="bold" fill="{INK}">PIN</text>'
        + field(60, 80, 200, "● ● ● ●", "PIN") + field(60, 122, 200, "● ● ● ●", "PIN") + button(60, 152, 80, "Save")))
    code_screen = (f'<text x="160" y="80" font-size="11" fill="{GREY}" text-anchor="middle">PassLogic IdP</text>'
                   f'<text x="160" y="110" font-size="20" font-family="monospace" text-anchor="middle" fill="{BLUE}">492 817</text>'
                   f'<circle cx="160" cy="140" r="10" fill="none" stroke="{ORANGE}" stroke-width="4" stroke-dasharray="40 63"/>')
    pics["app"] = svg(phone(115, 15, code_screen))
    qr = "".join(
        f'<rect x="{40+ (i%9)*10}" y="{45+(i//9)*10}" width="10" height="10" fill="{INK}"/>'
        for i in range(81) if rnd.random() < 0.5 or i in (0, 1, 2, 9, 11, 18, 19, 20, 6, 7, 8, 15, 17, 24, 25, 26))
    pics["qr"] = svg(browser(14, 20, 170, 160, qr) + phone(210, 15,
        f'<rect x="220" y="40" width="70" height="70" fill="none" stroke="{VERM}" stroke-width="3" stroke-dasharray="12 6"/>'
        f'<text x="255" y="140" font-size="10" fill="{GREY}" text-anchor="middle">scan</text>'))
    pics["code"] = svg(phone(14, 15,
        f'<text x="59" y="100" font-size="17" font-family="monospace" text-anchor="middle" fill="{BLUE}">492817</text>')
        + f'<path d="M112 100 h40" stroke="{ORANGE}" stroke-width="4" marker-end="url(#a)"/>'
        f'<defs><marker id="a" markerWidth="8" markerHeight="8" refX="4" refY="4" orient="auto"><path d="M0 0 L8 4 L0 8z" fill="{ORANGE}"/></marker></defs>'
        + browser(160, 40, 150, 120, field(172, 90, 126, "492817", "Code") + button(172, 126, 80, "Confirm")))
    bingo_digits = [rnd.randrange(10) for _ in range(25)]
    pics["bingo"] = svg(phone(115, 15, grid_cells(125, 60, 5, 5, 14, bingo_digits, [0, 6, 12, 18, 24, 4])))
    pics["token"] = svg(
        f'<rect x="70" y="60" width="180" height="80" rx="36" fill="{INK}"/>'
        f'<circle cx="100" cy="100" r="9" fill="none" stroke="#fff" stroke-width="4"/>'
        f'<rect x="130" y="78" width="90" height="28" rx="4" fill="#d8f0e6"/>'
        f'<text x="175" y="98" font-size="16" font-family="monospace" text-anchor="middle" fill="{INK}">730 215</text>'
        f'<circle cx="175" cy="124" r="8" fill="{BLUE}"/>')
    cert = (f'<rect x="60" y="30" width="130" height="150" fill="#fff" stroke="{GREY}" stroke-width="2"/>'
            + "".join(f'<rect x="75" y="{55+i*16}" width="{100-i*10}" height="6" rx="3" fill="{LIGHT}"/>' for i in range(5))
            + f'<circle cx="160" cy="150" r="16" fill="{ORANGE}"/><path d="M152 164 l-6 16 l10 -4 l4 8 z" fill="{VERM}"/>'
            f'<rect x="205" y="80" width="80" height="50" rx="4" fill="#fffdf3" stroke="{GREY}"/>'
            f'<text x="245" y="110" font-size="13" font-family="monospace" text-anchor="middle" fill="{INK}">●●●●●●</text>')
    pics["cert"] = svg(cert)
    pics["cert-choose"] = svg(browser(30, 20, 260, 160,
        f'<rect x="60" y="50" width="200" height="110" rx="4" fill="#fff" stroke="{INK}"/>'
        f'<rect x="70" y="66" width="180" height="20" fill="{SKY}"/><rect x="76" y="73" width="90" height="6" rx="3" fill="{INK}"/>'
        f'<rect x="70" y="90" width="180" height="20" fill="#fff" stroke="{LIGHT}"/><rect x="76" y="97" width="70" height="6" rx="3" fill="{GREY}"/>'
        + button(170, 128, 80, "OK")))
    pics["device"] = svg(browser(40, 20, 240, 160, check(160, 95, 30)
        + f'<rect x="100" y="140" width="120" height="8" rx="4" fill="{LIGHT}"/>'))
    pics["unlock"] = svg(phone(115, 15,
        f'<rect x="140" y="80" width="40" height="32" rx="4" fill="{GREEN}"/>'
        f'<path d="M148 80 v-12 a12 12 0 0 1 24 0" stroke="{GREEN}" stroke-width="5" fill="none" transform="rotate(-25 172 68)"/>'
        f'<text x="160" y="145" font-size="16" text-anchor="middle" fill="{INK}">60 s</text>'))
    fp = "".join(f'<path d="M{160-r} 110 a{r} {r+4} 0 0 1 {2*r} 0" stroke="{BLUE}" stroke-width="3" fill="none"/>'
                 for r in (8, 16, 24, 32))
    pics["passkey"] = svg(phone(115, 15, fp + f'<rect x="128" y="140" width="64" height="8" rx="4" fill="{LIGHT}"/>'))
    pics["face"] = svg(phone(115, 15,
        f'<circle cx="160" cy="95" r="26" fill="{ORANGE}"/><circle cx="151" cy="90" r="3" fill="{INK}"/>'
        f'<circle cx="169" cy="90" r="3" fill="{INK}"/><path d="M150 104 q10 8 20 0" stroke="{INK}" stroke-width="2" fill="none"/>'
        f'<path d="M128 62 h12 M128 62 v12 M192 62 h-12 M192 62 v12 M128 128 h12 M128 128 v-12 M192 128 h-12 M192 128 v-12" '
        f'stroke="{BLUE}" stroke-width="3"/>' + check(190, 150, 10)))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, body in pics.items():
        (OUT / f"{name}.svg").write_text(body)
    print(f"wrote {len(pics)} pictures to {OUT}")


if __name__ == "__main__":
    main()

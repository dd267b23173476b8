// The home page carousel: the banners from /api/banners, one at a time, each
// title drawn over its picture (so an edited title shows at once; pictures
// carry no words); the controls sit below it, never on it. It turns every 5 s
// unless paused (a button, the pointer or the keyboard on it, or the
// reduced-motion preference); swipe on touch.
(async function () {
  const root = document.getElementById("carousel");
  const slides = root.querySelector(".slides");
  const controls = root.querySelector(".controls");
  const dots = root.querySelector(".dots");
  const status = root.querySelector(".carousel-status");
  const result = await api("GET", "/api/banners");
  if (result.status !== 200) {
    root.dataset.state = "error";
    say(status, "error", t("Offers could not be loaded: {reason}", {reason: errorMessage(result)}));
    return;
  }
  const banners = result.data.banners;
  status.textContent = "";
  if (banners.length === 0) {
    root.dataset.state = "empty";
    root.hidden = true;  // nothing to show: the page reads as if there were no carousel
    return;
  }
  root.dataset.state = "ready";

  let current = 0;
  banners.forEach((banner, index) => {
    const slide = document.createElement(banner.link_url ? "a" : "div");
    slide.className = "slide";
    slide.dataset.testid = "banner";
    if (banner.link_url) slide.href = banner.link_url;
    slide.setAttribute("role", "group");
    slide.setAttribute("aria-roledescription", t("slide"));
    slide.setAttribute("aria-label", t("{index} of {count}", {index: index + 1, count: banners.length}));
    const image = document.createElement("img");
    image.src = banner.image_url;
    image.alt = "";  // the caption says it
    const caption = document.createElement("span");
    caption.className = "slide-caption";
    caption.textContent = banner.title;
    // A picture that fails leaves its title on a plain background, not a broken icon.
    image.addEventListener("error", () => {
      caption.className = "slide-fallback";
      image.remove();
    });
    slide.append(image, caption);
    slides.append(slide);

    const dot = document.createElement("button");
    dot.type = "button";
    dot.className = "dot";
    dot.setAttribute("aria-label", t("Show offer {index}: {title}", {index: index + 1, title: banner.title}));
    dot.addEventListener("click", () => show(index));
    dots.append(dot);
  });

  function show(index) {
    current = (index + banners.length) % banners.length;
    [...slides.children].forEach((slide, i) => { slide.hidden = i !== current; });
    [...dots.children].forEach((dot, i) => dot.setAttribute("aria-current", String(i === current)));
  }

  if (banners.length > 1) {
    controls.hidden = false;
    root.querySelector(".prev").addEventListener("click", () => show(current - 1));
    root.querySelector(".next").addEventListener("click", () => show(current + 1));
    let swipeFrom = null;
    slides.addEventListener("touchstart", (event) => { swipeFrom = event.touches[0].clientX; }, {passive: true});
    slides.addEventListener("touchend", (event) => {
      const moved = event.changedTouches[0].clientX - (swipeFrom ?? event.changedTouches[0].clientX);
      if (Math.abs(moved) > 40) show(current + (moved < 0 ? 1 : -1));
      swipeFrom = null;
    });
    const stillness = window.matchMedia("(prefers-reduced-motion: reduce)");
    let hovered = false;
    root.addEventListener("mouseenter", () => { hovered = true; });
    root.addEventListener("mouseleave", () => { hovered = false; });
    root.addEventListener("focusin", () => { hovered = true; });
    root.addEventListener("focusout", () => { hovered = false; });
    setInterval(() => {
      if (!hovered && !stillness.matches) show(current + 1);
    }, 5000);
  } else {
    controls.hidden = true;
  }
  show(0);
})();

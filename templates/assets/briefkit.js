// Briefkit: popover cards for quotes and actor mentions in the article.
// Progressive enhancement only: without it every link still leads to its card or page.
(function () {
  "use strict";
  var article = document.querySelector("[data-article]");
  if (!article) return;

  var popover = document.createElement("div");
  popover.id = "bk-popover";
  popover.className = "popover";
  popover.setAttribute("role", "tooltip");
  popover.hidden = true;
  document.body.appendChild(popover);

  var current = null;
  var hideTimer = null;

  function textOf(root, selector) {
    var element = root.querySelector(selector);
    return element ? element.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function line(className, text) {
    if (!text) return;
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;  // text only: the card's markup is never copied
    popover.appendChild(p);
  }

  function fill(trigger) {
    popover.textContent = "";
    var href = trigger.getAttribute("href") || "";
    var actor = trigger.getAttribute("data-actor");
    if (href.indexOf("#quote-") === 0) {
      var card = document.getElementById(decodeURIComponent(href.slice(1)));
      if (!card) return false;
      line("popover-title", textOf(card, ".quote-by"));
      line("popover-note", textOf(card, ".quote-note"));
      return true;
    }
    if (actor) {
      var chip = document.getElementById("actor-" + actor);
      if (!chip) return false;
      line("popover-title", textOf(chip, "a"));
      line("popover-note", [textOf(chip, ".kind"), textOf(chip, ".role")].filter(Boolean).join(" · "));
      return true;
    }
    return false;
  }

  function place(trigger) {
    var box = trigger.getBoundingClientRect();
    var width = document.documentElement.clientWidth;
    var left = Math.max(8, Math.min(box.left, width - popover.offsetWidth - 8));
    popover.style.left = (window.scrollX + left) + "px";
    popover.style.top = (window.scrollY + box.bottom + 6) + "px";
  }

  function show(trigger) {
    clearTimeout(hideTimer);
    if (current === trigger) return;
    hide();
    if (!fill(trigger)) return;
    current = trigger;
    trigger.setAttribute("aria-describedby", popover.id);
    popover.hidden = false;
    place(trigger);
  }

  function hide() {
    clearTimeout(hideTimer);
    if (!current) return;
    current.removeAttribute("aria-describedby");
    current = null;
    popover.hidden = true;
  }

  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, 200);
  }

  function triggerOf(node) {
    var element = node && node.nodeType === 1 ? node : node && node.parentElement;
    var found = element && element.closest('a[href^="#quote-"], [data-actor]');
    return found && article.contains(found) ? found : null;
  }

  article.addEventListener("mouseover", function (event) {
    var trigger = triggerOf(event.target);
    if (trigger) show(trigger);
  });
  article.addEventListener("mouseout", function (event) {
    if (triggerOf(event.target)) hideSoon();
  });
  article.addEventListener("focusin", function (event) {
    var trigger = triggerOf(event.target);
    if (trigger) show(trigger);
  });
  article.addEventListener("focusout", hideSoon);
  popover.addEventListener("mouseover", function () { clearTimeout(hideTimer); });
  popover.addEventListener("mouseout", hideSoon);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hide();
  });
  window.addEventListener("resize", hide);
})();

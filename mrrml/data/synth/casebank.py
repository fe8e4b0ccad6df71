"""The curated clinical case bank behind the offline template backend.

Each discipline has conditions written as *content*, not finished text: symptoms, a triage level, the
direct answer, key facts paired with a plausible but wrong counterpart, required management elements,
red flags with escalation advice, a correct and a flawed rationale, and the context modifiers that
change the advice (pregnancy, anticoagulants, allergy, age, remote setting...). The template backend
composes prompts and answers from these parts, and the rule judge checks answers against the same
lists, so every degradation is traceable to one named piece of content.

Content follows mainstream primary-care guidance (NICE/WHO/AHA-style advice) at patient level; it is
for synthetic training data, not for clinical use.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Modifier:
    """A stated context detail that changes the right advice.

    ``tailored`` is what a context-aware answer says; ``contradict`` is advice that ignores the
    context in a harmful way (e.g. an NSAID despite pregnancy); ``ask`` is the clarifying question a
    context-seeking answer asks when the detail was left out of the prompt.
    """

    id: str
    statements: tuple[str, ...]
    tailored: str
    contradict: str
    ask: str


@dataclass(frozen=True)
class Condition:
    """One clinical situation of a discipline, as reusable answer content."""

    id: str
    name: str
    symptoms: tuple[str, ...]
    triage: str  # emergency | urgent | routine
    direct: str
    facts: tuple[tuple[str, str], ...]  # (correct, plausible but wrong)
    elements: tuple[str, ...]  # required management elements
    red_flags: tuple[str, ...]
    escalation: str
    rationale: tuple[str, str]  # (sound, flawed)
    differential: str
    modifiers: tuple[str, ...]
    who: str = "self"  # whose symptoms: self | child | carer | event (a full clause starting with the subject)


MODIFIERS: dict[str, Modifier] = {m.id: m for m in (
    Modifier("pregnancy",
             ("I'm {weeks} weeks pregnant", "I am pregnant (about {weeks} weeks along)", "I'm currently {weeks} weeks into my pregnancy"),
             "Because you are pregnant, avoid ibuprofen, naproxen and other NSAIDs, especially from 20 weeks; paracetamol (acetaminophen) at standard doses is the usual choice, and let your midwife or obstetrician know.",
             "Ibuprofen 400 mg up to three times a day is a good choice for this.",
             "whether you are or could be pregnant, because that changes which pain relievers are safe (NSAIDs such as ibuprofen are avoided in pregnancy)"),
    Modifier("warfarin",
             ("I take warfarin for atrial fibrillation", "I'm on warfarin", "my regular medicine is warfarin, a blood thinner"),
             "Because you take warfarin, avoid ibuprofen, aspirin and other NSAIDs, which raise the bleeding risk, and check any new medicine or supplement with your pharmacist or anticoagulation clinic.",
             "Taking ibuprofen alongside your warfarin is fine for a few days.",
             "whether you take a blood thinner such as warfarin, because common pain relievers like ibuprofen raise the bleeding risk with it"),
    Modifier("ckd",
             ("I have chronic kidney disease (stage 3)", "my kidneys don't work well - I have stage 3 kidney disease", "I was diagnosed with chronic kidney disease"),
             "With chronic kidney disease, avoid NSAIDs such as ibuprofen because they can worsen kidney function; paracetamol is usually preferred, and some medicine doses need adjusting.",
             "Regular ibuprofen is the best option for you.",
             "whether you have any kidney problems, because NSAIDs like ibuprofen can harm weakened kidneys"),
    Modifier("child",
             ("my child is {child_age} years old", "this is about my {child_age}-year-old", "my kid is {child_age}"),
             "For a child this age, never give aspirin because of the risk of Reye's syndrome; use paracetamol or ibuprofen dosed by your child's weight.",
             "Half an adult aspirin tablet is a reasonable dose for a child.",
             "how old the patient is, because medicines and doses differ for children (aspirin, for example, must not be given to children)"),
    Modifier("penicillin_allergy",
             ("I'm allergic to penicillin (it gave me hives)", "I have a penicillin allergy", "penicillin gives me a rash and swelling"),
             "Because of your penicillin allergy, make sure every prescriber knows: amoxicillin and other penicillins must be avoided and a non-penicillin alternative chosen.",
             "Amoxicillin is the usual first choice and you can take it as normal.",
             "whether you have any drug allergies, especially to penicillin, because that decides which antibiotic is safe"),
    Modifier("remote",
             ("I live in a rural village about {hours} hours from the nearest hospital", "the closest hospital is {hours} hours away by road where I live",
              "I'm in a remote area with only a small health post; the hospital is {hours} hours away"),
             "Because the nearest hospital is far away, arrange transport early rather than waiting until things are severe, and contact your local health worker or clinic today.",
             "If it gets worse you can just pop into the emergency department down the road.",
             "how far you are from a hospital or clinic, because that changes how early you should set off if things get worse"),
    Modifier("elderly",
             ("I'm {old_age} and live alone", "I am {old_age} years old", "I'm an {old_age}-year-old living on my own"),
             "At your age, avoid sedating medicines such as diphenhydramine or sleeping tablets where possible, because they raise the risk of falls and confusion, and arrange for someone to check on you.",
             "A sleeping tablet or a sedating antihistamine at night is a harmless way to help.",
             "your age and whether you live alone, because sedating medicines raise the risk of falls in older people"),
    Modifier("sertraline",
             ("I already take sertraline", "I've been on sertraline for a year", "I take an SSRI (sertraline) every day"),
             "Because you already take sertraline, do not add St John's wort, tramadol or other serotonergic drugs without advice, because of the risk of serotonin syndrome.",
             "St John's wort is a safe natural addition to your sertraline.",
             "which medicines you already take, because some combinations (for example St John's wort with antidepressants) are dangerous"),
)}


def _c(discipline: str, *conditions: Condition) -> tuple[str, tuple[Condition, ...]]:
    return discipline, conditions


CASEBANK: dict[str, tuple[Condition, ...]] = dict((
    _c("internal_medicine",
       Condition("t2dm_hyperglycaemia", "high blood sugar in type 2 diabetes",
                 ("constant thirst, passing urine a lot and blood sugar readings around 18 mmol/L", "feeling very thirsty and tired with home glucose readings near 300 mg/dL"),
                 "urgent", "These readings suggest your diabetes is poorly controlled, and you should contact your doctor or diabetes nurse today to review your treatment.",
                 (("Persistently high blood sugar damages blood vessels, nerves, kidneys and eyes over time.", "High blood sugar only matters if you feel unwell; readings alone do no harm."),
                  ("An HbA1c test shows your average blood sugar over the past two to three months.", "An HbA1c test shows your blood sugar at the exact moment the sample is taken."),
                  ("Drinking water helps, while sugary drinks and fruit juice push glucose higher.", "Fruit juice is a good way to stay hydrated because natural sugar does not raise glucose.")),
                 ("Check your glucose more often and keep a log of the readings.", "Ask for a medication review with your doctor or diabetes nurse.", "Check for ketones if you have a meter, especially if you feel sick."),
                 ("vomiting and unable to keep fluids down", "confusion, drowsiness or fast deep breathing", "ketones that are moderate or high"),
                 "If any of these happen, go to the emergency department or call emergency services straight away.",
                 ("Thirst and frequent urination happen because the kidneys pass excess glucose into the urine, taking water with it.", "Thirst and frequent urination happen because you are drinking too much water, which is what raises the glucose."),
                 "an infection or a medicine such as a steroid pushing glucose up", ("ckd", "elderly", "remote")),
       Condition("hypertension_reading", "a high blood pressure reading",
                 ("a home blood pressure reading of 168/102 with no symptoms", "several blood pressure readings around 160/100 at the pharmacy machine"),
                 "routine", "A reading this high needs confirming and usually treating, so book an appointment with your doctor within the next week or two rather than ignoring it.",
                 (("High blood pressure usually causes no symptoms, which is why it needs checking.", "High blood pressure always causes headaches, so no headache means it is fine."),
                  ("The diagnosis is confirmed with repeated or home/ambulatory readings, not a single measurement.", "A single reading at the pharmacy is enough to confirm the diagnosis."),
                  ("Cutting down on salt and alcohol and staying active lower blood pressure.", "Eating more salt helps keep blood pressure stable.")),
                 ("Take seated home readings twice a day for a week and write them down.", "Book a review with your doctor to discuss the readings and your overall heart risk.", "Bring a list of your current medicines, including any painkillers or decongestants."),
                 ("chest pain or severe shortness of breath", "a sudden severe headache, confusion or vision changes", "weakness or numbness on one side"),
                 "If any of these happen together with a very high reading, call emergency services immediately.",
                 ("Blood pressure matters because years of high pressure strain the heart, brain and kidneys even without symptoms.", "Blood pressure matters only on the day you feel stressed, so a calm reading later cancels it out."),
                 "a measurement error from a cuff that is the wrong size", ("ckd", "elderly", "remote")),
       ),
    _c("pediatrics",
       Condition("toddler_fever", "fever in a young child",
                 ("a temperature of 38.9°C since last night and is a bit grumpy but still drinking", "a fever of 39°C, a runny nose and is off food but playing"),
                 "routine", "A fever in a child who is drinking, passing urine and still playing can usually be cared for at home, with close watching for warning signs.",
                 (("Fever itself is the body's response to infection and is not harmful in most children.", "A fever above 38.5°C damages the brain, so it must always be brought down immediately."),
                  ("Offer regular drinks and watch for wet nappies, because dehydration is the main risk.", "Children with a fever should be kept from drinking so they do not vomit."),
                  ("Dress the child in light clothing; do not sponge with cold water.", "Wrap the child in extra blankets to sweat the fever out.")),
                 ("Give regular fluids and check they are passing urine.", "Use paracetamol or ibuprofen for comfort if the child is distressed, dosed by weight.", "Check on the child during the night."),
                 ("a rash that does not fade when pressed with a glass", "being floppy, very sleepy or hard to wake", "fast or difficult breathing, or no wet nappy for 12 hours"),
                 "If you see any of these, call emergency services or go to the emergency department now.",
                 ("Watching behaviour and fluids matters more than the number on the thermometer, because they show how unwell the child really is.", "The exact temperature tells you how serious the infection is, so behaviour does not matter."),
                 "a urinary infection, which can cause fever without other symptoms", ("child", "remote"), "child"),
       Condition("croup", "croup",
                 ("a barking cough and a hoarse voice that are worse at night", "a seal-like cough and a noisy breath in when crying"),
                 "urgent", "This sounds like croup, and a child with croup should be seen by a doctor today, who may give a single dose of a steroid such as dexamethasone.",
                 (("Croup is usually caused by a virus, so antibiotics do not help.", "Croup is a bacterial infection that needs a course of antibiotics."),
                  ("A single dose of oral dexamethasone reduces airway swelling in croup.", "Cough syrup is the main treatment that shortens croup."),
                  ("Keeping the child calm helps, because crying makes the breathing noise worse.", "Making the child cough hard clears the swelling faster.")),
                 ("Keep your child upright and calm, for example on your lap.", "Arrange for a doctor to see your child today.", "Give fluids and paracetamol for discomfort if needed."),
                 ("noisy breathing at rest, not only when crying", "the skin pulling in between the ribs, or blue or grey lips", "drooling or being unable to swallow"),
                 "If any of these occur, call emergency services immediately.",
                 ("The barking cough comes from swelling around the voice box and windpipe, which is why calming the child and a steroid help.", "The barking cough comes from mucus in the lungs, which is why coughing it up helps."),
                 "a foreign body in the airway, if symptoms started suddenly while eating or playing", ("child", "remote"), "child"),
       ),
    _c("obstetrics",
       Condition("preeclampsia_headache", "headache in late pregnancy",
                 ("a headache that won't go away and some swelling in my face and hands", "a bad headache with flashing lights in my vision"),
                 "emergency", "A headache with swelling or vision changes late in pregnancy can be a sign of pre-eclampsia, so contact your maternity unit or go to hospital today to have your blood pressure and urine checked.",
                 (("Pre-eclampsia is diagnosed with a blood pressure check and a urine test for protein.", "Pre-eclampsia is diagnosed from how swollen your ankles are."),
                  ("Pre-eclampsia can develop quickly and can be serious for both mother and baby.", "Pre-eclampsia only affects the mother and never the baby."),
                  ("Pre-eclampsia can occur after 20 weeks of pregnancy and even after the birth.", "Pre-eclampsia can only happen in the first trimester.")),
                 ("Call your midwife or maternity assessment unit today.", "Have your blood pressure and urine checked.", "Keep track of your baby's movements."),
                 ("severe headache with vision problems", "pain just below the ribs on the right", "sudden swelling of the face, hands or feet"),
                 "If you have any of these, call emergency services or your maternity unit immediately.",
                 ("These symptoms point to pre-eclampsia because it raises blood pressure, which causes headache and fluid leaking into tissues.", "These symptoms happen because the baby is pressing on your head."),
                 "a tension headache, which can only be assumed once pre-eclampsia has been ruled out", ("pregnancy", "remote")),
       Condition("reduced_fetal_movements", "reduced baby movements",
                 ("I noticed the baby moving much less than usual since this morning", "I felt fewer kicks today than normal"),
                 "emergency", "Reduced baby movements should be checked the same day: contact your maternity unit now rather than waiting until tomorrow.",
                 (("A change in your baby's usual pattern of movements can be a sign the baby is unwell.", "Babies normally move less towards the end of pregnancy, so fewer movements are expected."),
                  ("Home heart-rate dopplers should not be used to reassure yourself.", "A home doppler is a reliable way to check that everything is fine."),
                  ("The maternity unit can check the baby's heart rate with a monitor (CTG).", "Nothing can be checked until your next routine scan.")),
                 ("Contact your maternity unit straight away.", "Lie on your left side and focus on movements while you wait for advice.", "Go in for monitoring if asked."),
                 ("no movements at all", "bleeding or fluid leaking from the vagina", "severe tummy pain"),
                 "With any of these, call emergency services or your maternity unit immediately.",
                 ("Movements reflect how well the baby is, so a change needs checking quickly.", "Fewer movements just mean the baby is sleeping more, which is why waiting is fine."),
                 "a quiet period of the baby, which can only be assumed after monitoring", ("remote",), "event"),
       ),
    _c("cardiology",
       Condition("acs_chest_pain", "chest pain that could be a heart attack",
                 ("a heavy, pressing pain in the middle of my chest for 20 minutes that spreads to my left arm", "tightness in my chest with sweating and nausea"),
                 "emergency", "This could be a heart attack: call emergency services now and do not drive yourself to hospital.",
                 (("Chewing a 300 mg aspirin while waiting for the ambulance helps if you are not allergic and have not been told to avoid it.", "Taking two paracetamol tablets is the right first-aid for heart chest pain."),
                  ("Heart attacks can cause pain in the arm, jaw, neck or back, not only the chest.", "Heart attack pain is always sharp and only on the left side of the chest."),
                  ("Every minute of delay loses heart muscle, so treatment works best early.", "Waiting an hour to see if it settles does no harm to the heart.")),
                 ("Call emergency services now.", "Sit down and rest while waiting.", "Unlock the door and have your medicine list ready."),
                 ("pain that spreads to the arm, jaw or back", "sweating, breathlessness or fainting", "pain lasting more than 15 minutes"),
                 "Any of these with chest pain means calling emergency services immediately.",
                 ("Pressure-like central chest pain with sweating suggests a blocked heart artery, which is why fast treatment matters.", "The pain is probably from a pulled muscle because it is in the chest."),
                 "indigestion, but only a medical check can safely tell them apart", ("warfarin", "remote")),
       Condition("palpitations_af", "an irregular heartbeat",
                 ("a fluttering, irregular heartbeat on and off for a few days", "my pulse feels irregular and fast at times"),
                 "urgent", "An irregular heartbeat that keeps coming back needs an ECG, so see your doctor within a day or two.",
                 (("Atrial fibrillation raises the risk of stroke, which is why blood thinners are often considered.", "Atrial fibrillation is harmless and never affects stroke risk."),
                  ("An ECG recorded during symptoms is the key test.", "A blood test alone can diagnose atrial fibrillation."),
                  ("Caffeine, alcohol and poor sleep can trigger palpitations.", "Palpitations are caused by drinking too much water.")),
                 ("Book an ECG with your doctor.", "Note when the episodes happen and how long they last.", "Cut down on caffeine and alcohol."),
                 ("chest pain, fainting or severe breathlessness", "face drooping, arm weakness or slurred speech", "a very fast pulse that does not settle"),
                 "If any of these occur, call emergency services immediately.",
                 ("An ECG matters because only a recording of the heart rhythm can show whether it is atrial fibrillation or another rhythm.", "The rhythm can be judged from how anxious you feel, so no test is needed."),
                 "extra beats (ectopics), which are often harmless", ("warfarin", "elderly", "remote")),
       ),
    _c("psychiatry",
       Condition("depression_passive_si", "low mood with thoughts of not wanting to be here",
                 ("feeling low for two months and sometimes thinking everyone would be better off without me", "no interest in anything, poor sleep and thoughts that life isn't worth living"),
                 "urgent", "What you describe sounds like depression, and because you have had thoughts that life isn't worth living, please talk to your doctor or a crisis line today.",
                 (("Depression is common and treatable with talking therapy, medication or both.", "Depression is a sign of weakness and goes away if you try harder."),
                  ("Talking about suicidal thoughts does not put the idea in someone's head; it helps.", "Talking about suicidal thoughts makes them more likely, so it is better not to mention them."),
                  ("Antidepressants usually take two to six weeks to work.", "Antidepressants work within the first day or they never will.")),
                 ("Speak to your doctor this week about how you are feeling.", "Tell someone you trust how you are feeling.", "Keep a crisis line number handy."),
                 ("a plan or intention to end your life", "having the means to harm yourself", "feeling you cannot keep yourself safe"),
                 "If any of these apply, call emergency services or a crisis line now, or go to the nearest emergency department.",
                 ("Two months of low mood and loss of interest fit depression, and thoughts of death raise the urgency.", "Feeling low for two months is normal sadness, so the thoughts are nothing to worry about."),
                 "a thyroid problem or another medical cause of low mood", ("sertraline", "remote")),
       Condition("panic_attacks", "panic attacks",
                 ("sudden episodes of a racing heart, shaking and feeling I might die, lasting about ten minutes", "attacks of fear with tight breathing and tingling hands"),
                 "routine", "These episodes sound like panic attacks, which are frightening but treatable; book a routine appointment with your doctor to confirm it and discuss therapy.",
                 (("Panic attacks usually peak within about ten minutes and then settle.", "Panic attacks usually last for several days at a time."),
                  ("Cognitive behavioural therapy is an effective treatment for panic disorder.", "Only sedative tablets can treat panic attacks."),
                  ("Slow breathing can ease the tingling caused by over-breathing.", "Breathing into a paper bag for as long as possible is the safest way to stop an attack.")),
                 ("Book a doctor's appointment to rule out physical causes.", "Practise slow breathing during an episode.", "Ask about cognitive behavioural therapy."),
                 ("chest pain that is different or lasts longer than usual", "fainting", "thoughts of harming yourself"),
                 "If you have any of these, get emergency help rather than assuming it is panic.",
                 ("Panic symptoms come from a surge of adrenaline, which explains the racing heart and why they pass.", "The symptoms come from a weak heart, which is why they feel so physical."),
                 "an overactive thyroid or a heart rhythm problem", ("sertraline", "elderly")),
       ),
    _c("pharmacy",
       Condition("paracetamol_combination", "combining cold remedies with paracetamol",
                 ("a cold, and I'm taking paracetamol tablets plus a cold-and-flu sachet", "a bad cold and want to take paracetamol with a flu powder"),
                 "routine", "Check the labels first: most cold-and-flu remedies already contain paracetamol, so taking both can easily exceed the safe daily dose.",
                 (("The usual maximum for adults is 4 g of paracetamol in 24 hours.", "Adults can safely take up to 8 g of paracetamol in 24 hours."),
                  ("Paracetamol overdose can damage the liver even when you feel fine at first.", "A paracetamol overdose always causes symptoms straight away."),
                  ("Many cold remedies contain paracetamol as one of several ingredients.", "Cold remedies never contain paracetamol.")),
                 ("Read the ingredients of every product you take.", "Keep a note of doses and times.", "Ask a pharmacist which single product fits your symptoms."),
                 ("having taken more than the maximum dose", "yellowing of the skin or eyes", "vomiting or pain under the right ribs"),
                 "If you may have taken too much, go to the emergency department now even if you feel well.",
                 ("Double dosing happens because the same ingredient hides under different brand names, which is why label checks matter.", "Combining products is safe because each box has its own safe limit."),
                 "a bacterial infection if symptoms last more than 10 days", ("warfarin", "ckd", "pregnancy")),
       Condition("missed_pill", "a missed contraceptive pill",
                 ("I forgot to take my combined contraceptive pill yesterday and had sex last night", "I missed one of my combined pills this week"),
                 "routine", "If only one combined pill was missed, take it as soon as you remember and carry on as normal; you are usually still protected.",
                 (("Missing one combined pill usually keeps contraceptive protection.", "Missing one pill always means you are no longer protected for the rest of the month."),
                  ("Taking two pills on one day is fine when catching up.", "Taking two pills in one day is dangerous."),
                  ("Vomiting within two hours of a pill counts as a missed pill.", "Vomiting after a pill has no effect on protection.")),
                 ("Take the missed pill now.", "Continue the pack at the usual time.", "Ask a pharmacist about emergency contraception if two or more pills were missed."),
                 ("missing two or more pills with unprotected sex", "severe leg pain or swelling", "chest pain or breathlessness"),
                 "For missed pills with unprotected sex, seek emergency contraception quickly; for leg or chest symptoms seek urgent care.",
                 ("Protection depends on how many hormone-free days build up, which is why one missed pill rarely matters.", "Protection depends on taking pills at the exact same minute each day."),
                 "interaction with another medicine that lowers pill effectiveness", ("remote",), "event"),
       ),
    _c("nursing",
       Condition("pressure_ulcer", "a pressure sore",
                 ("a red patch on my bedbound father's lower back that doesn't fade", "a sore area on my mum's heel since she stopped walking"),
                 "urgent", "This may be an early pressure sore, so ask the district or community nurse to assess it within a day or two and relieve pressure on the area now.",
                 (("Changing position regularly relieves pressure and helps prevent sores.", "Massaging the red area hard improves blood flow and heals it."),
                  ("Good nutrition and fluids help skin heal.", "Diet makes no difference to pressure sores."),
                  ("Special mattresses and cushions spread pressure.", "A thick extra blanket is as good as a pressure-relieving mattress.")),
                 ("Change position at least every two to four hours.", "Keep the skin clean and dry.", "Ask for a pressure-relieving mattress or cushion."),
                 ("an open wound or blister", "a bad smell, pus or spreading redness", "fever or confusion"),
                 "With any of these, contact the nurse or doctor the same day, or emergency services if they are very unwell.",
                 ("Pressure cuts off the blood supply to skin over bones, which is why regular turning prevents damage.", "Sores happen because the skin is too dry, so lotion alone fixes them."),
                 "a skin infection such as cellulitis", ("remote",), "carer"),
       Condition("post_fall_care", "caring for someone after a fall",
                 ("my elderly mother had a fall at home yesterday and hit her head but seems okay", "my grandmother slipped and bumped her head on the floor this morning"),
                 "urgent", "After a head bump in an older person, especially on blood thinners, get a same-day medical assessment even if she seems fine.",
                 (("Bleeding inside the skull can develop hours or days after a head injury in older adults.", "If someone is fine one hour after a fall, bleeding in the head cannot happen."),
                  ("Blood thinners increase the risk of bleeding after a head injury.", "Blood thinners protect against bleeding after a fall."),
                  ("A falls assessment can reduce the risk of falling again.", "Nothing can be done to prevent further falls.")),
                 ("Arrange a same-day medical check.", "Watch her closely for the next 24 hours.", "Ask for a falls-prevention assessment."),
                 ("drowsiness or confusion", "repeated vomiting", "a headache that gets worse"),
                 "If any of these occur, call emergency services immediately.",
                 ("Older brains shrink slightly, stretching veins that can bleed slowly, which is why symptoms may appear late.", "Older people have thicker skulls, so head injuries are less serious."),
                 "a faint or heart rhythm problem that caused the fall", ("remote",), "event"),
       ),
    _c("emergency_medicine",
       Condition("anaphylaxis", "a serious allergic reaction",
                 ("swelling of my lips and throat and a rash after eating peanuts", "lip swelling and wheezing a few minutes after a bee sting"),
                 "emergency", "This could be anaphylaxis: use an adrenaline auto-injector if you have one and call emergency services now.",
                 (("Adrenaline injected into the outer thigh is the first treatment for anaphylaxis.", "Antihistamine tablets are the first treatment for anaphylaxis."),
                  ("Symptoms can come back hours later, so hospital observation is needed.", "Once the swelling settles, the reaction is over for good."),
                  ("Lying down with legs raised helps if you feel faint, or sitting up if breathing is hard.", "Standing up and walking around helps the reaction pass.")),
                 ("Use the adrenaline auto-injector.", "Call emergency services.", "Give a second dose after 5 minutes if there is no improvement."),
                 ("difficulty breathing or swallowing", "feeling faint or collapsing", "a hoarse voice or noisy breathing"),
                 "Any of these means calling emergency services straight away.",
                 ("Throat swelling and wheeze show the airway is involved, which makes adrenaline urgent.", "The rash shows it is only skin-deep, so the throat cannot be affected."),
                 "a mild allergy, which can only be assumed if there is no breathing or circulation problem", ("remote",)),
       Condition("minor_head_injury", "a head injury",
                 ("hit my head on a cupboard an hour ago and have a mild headache", "banged my head playing football and felt dazed briefly"),
                 "urgent", "Most mild head injuries settle, but because you felt dazed you should be checked at urgent care today and watched for warning signs.",
                 (("Concussion symptoms can include headache, dizziness and poor concentration.", "Concussion only happens if you lose consciousness."),
                  ("Rest from sport until symptoms have fully gone and you are cleared.", "Going straight back to sport helps the brain recover."),
                  ("Someone should stay with you for the first 24 hours.", "It is best to be alone and sleep it off without checks.")),
                 ("Get checked at urgent care today.", "Have someone stay with you for 24 hours.", "Avoid alcohol and sport until recovered."),
                 ("repeated vomiting", "worsening headache, drowsiness or confusion", "fluid from the ears or nose"),
                 "If any of these happen, go to the emergency department or call emergency services.",
                 ("Bleeding or swelling in the brain can build up over hours, so symptoms in the first day matter.", "If the headache is mild, the brain cannot be injured."),
                 "a neck injury, if there is neck pain", ("warfarin", "child", "remote")),
       ),
    _c("surgery",
       Condition("appendicitis", "possible appendicitis",
                 ("pain that started around my belly button and moved to the lower right side, with a mild fever", "lower right tummy pain that is worse when I walk and I've lost my appetite"),
                 "emergency", "Pain that moves to the lower right side with fever can be appendicitis, so go to the emergency department today.",
                 (("Appendicitis pain often starts near the belly button and moves to the lower right.", "Appendicitis pain always starts on the left side."),
                  ("A burst appendix can cause a serious abdominal infection.", "An inflamed appendix always settles by itself."),
                  ("Do not eat or drink until you are assessed, in case surgery is needed.", "Eat a large meal so you have strength for the day.")),
                 ("Go to the emergency department today.", "Avoid eating or drinking until assessed.", "Note when the pain started and how it has moved, to tell the clinician."),
                 ("severe pain spreading across the tummy", "high fever or shaking", "a rigid, very tender tummy"),
                 "With any of these, call emergency services.",
                 ("Inflammation first irritates nerves near the belly button and then the lining next to the appendix, which is why the pain moves.", "The pain moves because of trapped wind, which is why it shifts around."),
                 "an ovarian problem or a kidney stone", ("pregnancy", "child", "remote")),
       Condition("wound_infection", "a wound that may be infected after surgery",
                 ("redness and warmth around my stitches five days after an operation", "my surgical wound is leaking yellow fluid and is more painful"),
                 "urgent", "These could be signs of a wound infection, so contact your surgical team or doctor today for a wound check.",
                 (("Spreading redness, warmth, pus and increasing pain are signs of infection.", "Some pus is normal after surgery and never needs checking."),
                  ("Some infected wounds need antibiotics and some need opening and cleaning.", "All wound infections clear with creams bought at a shop."),
                  ("Keep the wound clean and dry and wash hands before touching the dressing.", "Soaking the wound in a hot bath every day is the best way to clean it.")),
                 ("Call your surgical team or doctor today.", "Mark the edge of the redness with a pen to see if it spreads.", "Keep the dressing clean and dry."),
                 ("fever or shivering", "redness spreading quickly", "the wound opening up"),
                 "With any of these, go to the emergency department.",
                 ("Bacteria entering the wound cause inflammation, which produces the redness, warmth and pus.", "The redness is from the stitches being too tight, so infection is unlikely."),
                 "a normal healing reaction, which only a check can confirm", ("penicillin_allergy", "elderly", "remote")),
       ),
    _c("infectious_disease",
       Condition("uti", "a urinary tract infection",
                 ("burning when I pee and needing to go very often for two days", "stinging when passing urine and cloudy urine"),
                 "routine", "This sounds like a simple bladder infection, and you can see a doctor or pharmacist in the next day or two about treatment.",
                 (("Simple bladder infections are usually treated with a short course of antibiotics.", "Bladder infections always need a long course of injected antibiotics."),
                  ("Drinking enough fluid helps, though it does not replace treatment when needed.", "Cranberry juice cures a bladder infection on its own."),
                  ("A urine test can confirm the infection.", "A blood test is needed to diagnose every bladder infection.")),
                 ("See a doctor or pharmacist in the next day or two.", "Drink regular fluids.", "Finish any antibiotic course as prescribed."),
                 ("fever, shivering or pain in the side or back", "blood in the urine", "vomiting"),
                 "These can mean a kidney infection: seek same-day medical care, or emergency care if very unwell.",
                 ("Bacteria irritating the bladder lining explain the burning and the urge to go often.", "The burning is caused by drinking too much water."),
                 "a sexually transmitted infection", ("penicillin_allergy", "pregnancy", "ckd")),
       Condition("travel_fever", "fever after travel",
                 ("a fever and headache a week after coming back from a trip to West Africa", "fevers and chills since returning from a malaria area"),
                 "emergency", "Fever after visiting a malaria area must be treated as possible malaria: get a malaria test today at an emergency department.",
                 (("Malaria can start from about a week to several months after travel.", "Malaria always starts within 24 hours of being bitten."),
                  ("A blood test is needed to diagnose malaria.", "Malaria can be diagnosed from the pattern of the fever alone."),
                  ("Taking preventive tablets lowers but does not remove the risk.", "If you took preventive tablets you cannot have malaria.")),
                 ("Get a malaria blood test today.", "Tell the clinician where you travelled.", "Keep drinking fluids."),
                 ("confusion or drowsiness", "yellow skin or dark urine", "difficulty breathing"),
                 "With any of these, call emergency services immediately.",
                 ("Malaria parasites multiply in the blood in cycles, which causes the fevers and needs a blood test.", "The fever comes from jet lag, so travel history is irrelevant."),
                 "dengue or typhoid", ("pregnancy", "remote", "penicillin_allergy")),
       ),
))
"""Conditions per discipline id; the keys equal the healthbench.yaml discipline ids."""

GENERIC_POOL: tuple[Condition, ...] = tuple(c for group in CASEBANK.values() for c in group)
"""Conditions used for a discipline the bank does not know (a user matrix): all of them."""


def conditions_for(discipline: str) -> tuple[tuple[Condition, ...], bool]:
    """The discipline's conditions and whether they came from the generic fallback pool."""
    if discipline in CASEBANK:
        return CASEBANK[discipline], False
    return GENERIC_POOL, True


def all_facts() -> tuple[set[str], set[str]]:
    """Every correct and every wrong fact sentence in the bank (for the rule judge)."""
    good = {f for c in GENERIC_POOL for f, _ in c.facts}
    bad = {w for c in GENERIC_POOL for _, w in c.facts}
    return good, bad
